import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { PHASES } from '../../src/core/phases.js';
import type { RedeployState } from '../../src/core/state.js';
import { activityRuns, type Harness } from './harness.js';

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

/**
 * A run whose DEPLOY waits in retry backoff: another deployment holds the host's deploy lock (a live pid),
 * so deploy-runtime.sh exits 2 and DEPLOY retries. Returns once two attempts were refused and the next
 * is 20 s away (10 s doubled) — long enough to tell "at once" apart — and the lock is released again.
 */
export async function deployInBackoff(
  h: Harness,
): Promise<{ handle: WorkflowHandle; nextAttemptAt: number }> {
  const holder = execa('sleep', ['300'], { reject: false });
  try {
    await fs.mkdir(h.sb.deployLockDir, { recursive: true });
    await fs.writeFile(path.join(h.sb.deployLockDir, 'pid'), `${holder.pid}\n`);
    const handle = await h.start();
    let pending: Awaited<ReturnType<typeof pendingDeploy>>;
    for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
      pending = await pendingDeploy(handle);
      if (pending && pending.attempt >= 3 && pending.nextAttemptAt) break;
      assert.ok(Date.now() < deadline, `DEPLOY never reached its 3rd attempt: ${JSON.stringify(pending)}`);
    }
    assert.ok(pending.nextAttemptAt - Date.now() > 10_000, 'the retry is still far off');
    assert.equal(await activityRuns(h, handle.workflowId, 'DEPLOY'), 2);
    return { handle, nextAttemptAt: pending.nextAttemptAt };
  } finally {
    // The other deployment ends.
    holder.kill('SIGKILL');
    await holder;
    await fs.rm(h.sb.deployLockDir, { recursive: true, force: true });
  }
}

/** After an activity reset: the run completed before the backoff ended, one more DEPLOY, nothing else re-run. */
export async function assertRanAtOnce(
  h: Harness,
  handle: WorkflowHandle,
  nextAttemptAt: number,
  how: 'reset' | 'unpause' = 'reset',
): Promise<void> {
  const id = handle.workflowId;
  const state = (await handle.result()) as RedeployState;
  assert.ok(Date.now() < nextAttemptAt, 'the run completed before the backoff would have ended');
  assert.equal(state.status, 'completed');
  assert.equal(await activityRuns(h, id, 'DEPLOY'), 3, 'one more DEPLOY, right after the reset');
  for (const phase of PHASES.filter((p) => p !== 'DEPLOY' && p !== 'INFISICAL'))
    assert.equal(await activityRuns(h, id, phase), 1, `${phase} ran once`);
  // A reset makes this attempt 1 again; --force still follows the deployment directory, which the
  // refused attempts never reached.
  // An unpause keeps the attempt count (4th attempt): what --force then is, is DEPLOY's retry rule, not tested here.
  if (how === 'reset') assert.equal(state.phases.DEPLOY['force'], false);
  const deployed = await h.sb.deployedPins();
  assert.deepEqual([deployed['omninode-claude'], deployed['omniintelligence']], ['0.4.0', '0.8.0']);
}
