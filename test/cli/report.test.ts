import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { buildReport, reportMarkdown } from '../../src/cli/report.js';
import { initState, markPhase } from '../../src/core/state.js';
import { SAMPLE_INPUT } from '../support/state.js';

type Events = Parameters<typeof buildReport>[1];
const T0 = Date.parse('2026-12-02T00:00:00Z');

/** A history event at `s` seconds after T0, as the server records it. */
function at(id: number, s: number, attrs: Record<string, unknown>) {
  const ms = T0 + s * 1000;
  return { eventId: id, eventTime: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }, ...attrs };
}

describe('the report of a phase an operator retried', () => {
  it('shows the time DEPLOY ran apart from the time it waited for the decision, and the wall time', () => {
    // DEPLOY: scheduled at 10 s, one attempt fails at 40 s; the operator retries at 640 s (10 min wait),
    // the second execution runs two attempts (an automatic retry) and completes at 700 s.
    const events = [
      at(5, 10, { activityTaskScheduledEventAttributes: { activityType: { name: 'deploy' } } }),
      at(6, 10, { activityTaskStartedEventAttributes: { scheduledEventId: 5, attempt: 1 } }),
      at(7, 40, { activityTaskFailedEventAttributes: { scheduledEventId: 5 } }),
      at(9, 640, { activityTaskScheduledEventAttributes: { activityType: { name: 'deploy' } } }),
      at(10, 670, { activityTaskStartedEventAttributes: { scheduledEventId: 9, attempt: 2 } }),
      at(11, 700, { activityTaskCompletedEventAttributes: { scheduledEventId: 9 } }),
    ] as unknown as Events;
    const state = initState(SAMPLE_INPUT, { workflowId: SAMPLE_INPUT.runId, runId: 'r' }, 'T');
    markPhase(state, 'DEPLOY', 'completed', 'T');
    const report = buildReport(state, events);
    const deploy = report.phases.DEPLOY;
    assert.deepEqual(
      {
        executions: deploy.executions,
        attempts: deploy.attempts,
        duration_ms: deploy.duration_ms,
        running_ms: deploy.running_ms,
        decision_wait_ms: deploy.decision_wait_ms,
      },
      { executions: 2, attempts: 3, duration_ms: 690_000, running_ms: 90_000, decision_wait_ms: 600_000 },
    );
    assert.equal(deploy.started_at, '2026-12-02T00:00:10.000Z');
    const row = reportMarkdown(report)
      .split('\n')
      .find((l) => l.startsWith('| DEPLOY'));
    assert.equal(row, '| DEPLOY | completed | 2 | 3 | 90.0 s | 600.0 s | 690.0 s |');
    assert.equal(report.phases.SYNC.running_ms, null, 'a phase that did not run has no times');
  });
});
