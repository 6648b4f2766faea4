import { WorkflowUpdateFailedError } from '@temporalio/client';
import type { Phase } from '../../core/phases.js';
import { decideUpdate } from '../../core/messages.js';
import { queryState } from '../attach.js';
import { follow, operator, reporterFor, runHandle, type Context } from './shared.js';

/** `redeploy retry|skip|abort <run_id>`: answer the decision a run waits for, then follow it. */
export async function decide(
  ctx: Context,
  cmd: {
    kind: 'retry' | 'skip' | 'abort';
    runId: string;
    phase: Phase | undefined;
    json: boolean;
    detach: boolean;
  },
): Promise<number> {
  const handle = runHandle(ctx, cmd.runId);
  const state = await queryState(handle);
  const pending = state?.pending_decision;
  if (!state || !pending) {
    ctx.out(
      `${cmd.runId} is not waiting for a decision (status: ${state?.status ?? (await handle.describe()).status.name.toLowerCase()})`,
    );
    return 1;
  }
  const phase = cmd.phase ?? pending.phase;
  try {
    await handle.executeUpdate(decideUpdate, { args: [{ action: cmd.kind, phase, by: operator() }] });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      ctx.out(`redeploy ${cmd.kind} refused: ${err.cause?.message ?? err.message}`);
      return 1;
    }
    throw err;
  }
  const reporter = await reporterFor(ctx, cmd.json);
  reporter.note(`[redeploy] ${cmd.runId}: ${cmd.kind} ${phase} (by ${operator()})`);
  if (cmd.detach) return 0;
  return follow(ctx, handle, reporter, pending.since);
}
