import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpdate } from '../../src/workflows/messages.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { WorkflowHandle } from '@temporalio/client';
import type { RedeployFlags } from '../../src/core/state.js';
import { orderQueue } from '../../src/core/target-lock.js';
import { recordHistory, waitForState, waitingOn } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

const FAST: RedeployFlags = {
  skipSync: true,
  skipDockerfileUpdate: false,
  skipInfisical: true,
  verifyOnly: false,
};

/** Server times of a run's close and of its first phase activity (the lock's own activities aside). */
async function timeline(h: WorkflowHandle): Promise<{ firstPhase: number; closed: number }> {
  const events = (await h.fetchHistory()).events ?? [];
  const ms = (t: unknown) => {
    const { seconds, nanos } = (t ?? {}) as { seconds?: { toNumber(): number } | number; nanos?: number };
    return (
      (typeof seconds === 'object' && seconds ? seconds.toNumber() : Number(seconds ?? 0)) * 1000 +
      (nanos ?? 0) / 1e6
    );
  };
  const lockActs = new Set<number>();
  let firstPhase = NaN;
  for (const e of events) {
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled && ['targetLockHolder', 'awaitTargetTurn'].includes(scheduled.activityType?.name ?? ''))
      lockActs.add(Number(e.eventId));
    const started = e.activityTaskStartedEventAttributes;
    if (started && !lockActs.has(Number(started.scheduledEventId)) && Number.isNaN(firstPhase))
      firstPhase = ms(e.eventTime);
  }
  const close = events.find(
    (e) => e.workflowExecutionCompletedEventAttributes || e.workflowExecutionFailedEventAttributes,
  );
  return { firstPhase, closed: ms(close?.eventTime) };
}

describe('queued runs on one target', { concurrency: 1 }, () => {
  const h = withHarness('target-queue');

  it('orders by arrival, earliest first; one entry per run', () => {
    const q = orderQueue([
      { run_id: 'c', queued_at: '2026-12-02T05:00:02.000Z' },
      { run_id: 'b', queued_at: '2026-12-02T05:00:01.000Z' },
      { run_id: 'c', queued_at: '2026-12-02T05:00:00.500Z' },
      { run_id: 'a', queued_at: '2026-12-02T05:00:01.000Z' },
    ]);
    assert.deepEqual(
      q.map((e) => `${e.run_id}@${e.queued_at.slice(17, 23)}`),
      ['c@00.500', 'a@01.000', 'b@01.000'],
    );
  });

  it('serves waiting runs in arrival order, each after the one before it closed', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'build failed' });
    const holder = await h.start({ flags: FAST });
    await waitForState(holder, waitingOn('DEPLOY'));
    const queuedFirst = await h.start({ flags: FAST });
    await waitForState(queuedFirst, (s) => s.status === 'waiting_for_target');
    // Long enough for a polling waiter to back off (2 s, then 4 s): the later arrivals, which would try
    // again sooner, must still go after it.
    await sleep(6500);
    const second = await h.start({ flags: FAST });
    await waitForState(second, (s) => s.status === 'waiting_for_target');
    const third = await h.start({ flags: FAST });
    await waitForState(third, (s) => s.status === 'waiting_for_target');
    await h.sb.clearFault('deploy');
    await holder.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase: 'DEPLOY', by: 'test' }] });
    await holder.result().catch(() => undefined);

    const runs = [queuedFirst, second, third];
    for (const r of runs) assert.equal((await r.result()).status, 'completed', r.workflowId);
    const [a, b, c, d] = await Promise.all([holder, ...runs].map(timeline));
    assert.ok(b!.firstPhase > a!.closed, 'the first queued run started after the holder closed');
    assert.ok(c!.firstPhase > b!.closed, 'the second after the first closed (arrival order, exclusive)');
    assert.ok(d!.firstPhase > c!.closed, 'the third after the second closed');
    await recordHistory(h, second.workflowId, 'target-queue');
  });
});
