import { setTimeout as sleep } from 'node:timers/promises';
import { mirrorState } from '../attach.js';
import { lastState, runHandle, type Context } from './shared.js';

/** `redeploy cancel <run_id>`: stop a run now and wait (up to a minute) for its phase to stop. */
export async function cancel(ctx: Context, runId: string): Promise<number> {
  const handle = runHandle(ctx, runId);
  const before = (await handle.describe()).status.name;
  if (before !== 'RUNNING') {
    ctx.out(`${runId} is already ${before.toLowerCase()}`);
    return 0;
  }
  await handle.cancel();
  ctx.out(`[redeploy] cancel requested for ${runId}; waiting for the running phase to stop…`);
  // The workflow waits for the phase's process group to be gone before it closes.
  const deadline = Date.now() + 60_000;
  while ((await handle.describe()).status.name === 'RUNNING' && Date.now() < deadline) await sleep(300);
  const state = await lastState(ctx, handle);
  if (state) await mirrorState(ctx.config, state, true);
  ctx.out(`[redeploy] ${runId} ${(await handle.describe()).status.name.toLowerCase()}`);
  return 0;
}
