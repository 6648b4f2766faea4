import { workflowUrl } from '../../io/temporal.js';
import { follow, reporterFor, runHandle, type Context } from './shared.js';

/** `redeploy watch <run_id>`: follow a run until it ends or waits for a decision. */
export async function watch(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = runHandle(ctx, runId);
  await handle.describe(); // not found → a clear error before attaching
  const reporter = await reporterFor(ctx, json);
  reporter.started(runId, workflowUrl(ctx.config, runId));
  return follow(ctx, handle, reporter);
}
