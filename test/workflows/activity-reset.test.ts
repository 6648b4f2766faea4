import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import type { RedeployState } from '../../src/core/state.js';
import { PHASES } from '../../src/core/phases.js';
import { activityRuns, createHarness, type Harness } from '../support/harness.js';
import { temporalCli } from '../support/temporal.js';

/** DEPLOY's pending activity: its attempt and when the server means to start the next one (ms since epoch). */
async function pendingDeploy(handle: WorkflowHandle) {
  const pending = (await handle.describe()).raw.pendingActivities ?? [];
  const deploy = pending.find((a) => a.activityType?.name === 'deploy');
  if (!deploy) return undefined;
  const next = deploy.nextAttemptScheduleTime;
  return {
    attempt: deploy.attempt ?? 0,
    nextAttemptAt: next ? Number(next.seconds ?? 0) * 1000 + Math.floor((next.nanos ?? 0) / 1e6) : undefined,
  };
}

describe('`temporal activity reset` on a DEPLOY waiting in retry backoff', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('activity-reset');
  });
  after(() => h.close());

  it('runs DEPLOY again at once, reruns no earlier phase, and deploys the requested versions', async () => {
    // Another deployment holds the host's deploy lock (a live pid): deploy-runtime.sh exits 2, DEPLOY retries.
    const holder = execa('sleep', ['300'], { reject: false });
    await fs.mkdir(h.sb.deployLockDir, { recursive: true });
    await fs.writeFile(path.join(h.sb.deployLockDir, 'pid'), `${holder.pid}\n`);
    const handle = await h.start();
    const id = handle.workflowId;
    try {
      // After two refused attempts the next waits 20 s (10 s doubled): long enough to tell "at once" apart.
      let pending: Awaited<ReturnType<typeof pendingDeploy>>;
      for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
        pending = await pendingDeploy(handle);
        if (pending && pending.attempt >= 3 && pending.nextAttemptAt) break;
        assert.ok(Date.now() < deadline, `DEPLOY never reached its 3rd attempt: ${JSON.stringify(pending)}`);
      }
      const nextAttemptAt = pending.nextAttemptAt;
      assert.ok(nextAttemptAt - Date.now() > 10_000, 'the retry is still far off');
      assert.equal(await activityRuns(h, id, 'DEPLOY'), 2);

      // The other deployment ends; the operator does not want to wait for the backoff.
      holder.kill('SIGKILL');
      await holder;
      await fs.rm(h.sb.deployLockDir, { recursive: true, force: true });
      const reset = await execa(
        await temporalCli(),
        ['activity', 'reset', '--address', h.address, '--workflow-id', id, '--activity-type', 'deploy'],
        { reject: false },
      );
      assert.equal(reset.exitCode, 0, reset.stderr);

      const state = (await handle.result()) as RedeployState;
      assert.ok(Date.now() < nextAttemptAt, 'the run completed before the backoff would have ended');
      assert.equal(state.status, 'completed');
      assert.equal(await activityRuns(h, id, 'DEPLOY'), 3, 'one more DEPLOY, right after the reset');
      for (const phase of PHASES.filter((p) => p !== 'DEPLOY' && p !== 'INFISICAL'))
        assert.equal(await activityRuns(h, id, phase), 1, `${phase} ran once`);
      // A reset makes this attempt 1 again; --force still follows the deployment directory, which the
      // refused attempts never reached.
      assert.equal(state.phases.DEPLOY['force'], false);
      const deployed = await h.sb.deployedPins();
      assert.deepEqual([deployed['omninode-claude'], deployed['omniintelligence']], ['0.4.0', '0.8.0']);
    } finally {
      holder.kill('SIGKILL');
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
