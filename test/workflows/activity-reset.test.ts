import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { temporalCli } from '../support/temporal.js';
import { assertRanAtOnce, deployInBackoff } from '../support/deploy-backoff.js';
import { activityRuns, type Harness } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

/** `temporal …` with the harness's server, as an operator types it (docs/OPERATING.md, "A phase in retry backoff"). */
async function temporal(h: Harness, args: string[]) {
  const r = await execa(await temporalCli(), [...args, '--address', h.address], { reject: false });
  assert.equal(r.exitCode, 0, `temporal ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/**
 * The activity id of a phase, found the way docs/OPERATING.md says: `temporal workflow describe` lists the
 * pending activities, each with its ActivityId and Type (a phase's activity type is its name in
 * lower camel case: DEPLOY → deploy). The ids are sequence numbers the workflow assigns, not the phase name.
 */
async function pendingActivityId(h: Harness, handle: WorkflowHandle, type: string): Promise<string> {
  const text = await temporal(h, ['workflow', 'describe', '--workflow-id', handle.workflowId]);
  const pending = text.slice(text.indexOf('Pending Activities'));
  const block = pending.split(/\n\s*\n/).find((b) => new RegExp(`^\\s*Type\\s+${type}$`, 'm').test(b));
  const id = block && /ActivityId\s+(\S+)/.exec(block)?.[1];
  assert.ok(id, `an ActivityId for ${type} in:\n${pending}`);
  // The same as the server's own record of it.
  const raw = (await handle.describe()).raw.pendingActivities ?? [];
  assert.equal(raw.find((a) => a.activityType?.name === type)?.activityId, id);
  return id;
}

describe('operator commands on a DEPLOY waiting in retry backoff', { concurrency: 1 }, () => {
  const h = withHarness('activity-reset');

  it('`temporal activity reset --activity-id` runs DEPLOY again at once, reruns no earlier phase, deploys the requested versions', async () => {
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      const id = await pendingActivityId(h, handle, 'deploy');
      // The operator does not want to wait for the backoff.
      await temporal(h, ['activity', 'reset', '--workflow-id', handle.workflowId, '--activity-id', id]);
      await assertRanAtOnce(h, handle, nextAttemptAt);
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });

  it('`temporal activity pause` holds DEPLOY past its backoff; `unpause` runs it at once', async () => {
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      const id = await pendingActivityId(h, handle, 'deploy');
      await temporal(h, ['activity', 'pause', '--workflow-id', handle.workflowId, '--activity-id', id]);
      const paused = (await handle.describe()).raw.pendingActivities?.find((a) => a.activityId === id);
      assert.equal(paused?.paused, true, 'the server shows DEPLOY paused');
      // The retry was due at nextAttemptAt: paused, it does not run.
      await sleep(Math.max(0, nextAttemptAt - Date.now()) + 3000);
      assert.equal(await activityRuns(h, handle.workflowId, 'DEPLOY'), 2, 'no attempt while paused');
      const unpausedAt = Date.now();
      await temporal(h, ['activity', 'unpause', '--workflow-id', handle.workflowId, '--activity-id', id]);
      // Past its backoff, an unpaused activity is scheduled at once (one more DEPLOY, nothing else re-run).
      await assertRanAtOnce(h, handle, unpausedAt + 15_000, 'unpause');
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
