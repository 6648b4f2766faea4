import { lastState, runHandle, type Context } from './shared.js';

/** `redeploy report <run_id>`: phase timings and attempts, versions, verification, decisions — markdown and JSON. */
export async function report(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = runHandle(ctx, runId);
  await handle.describe(); // not found → a clear error
  const state = await lastState(ctx, handle);
  if (!state) {
    ctx.out(`${runId}: no progress state readable (is a worker running?)`);
    return 1;
  }
  // Loaded only for this command: the report builder is the CLI's largest view.
  const { buildReport, reportMarkdown, writeReport } = await import('../report.js');
  const r = buildReport(state, (await handle.fetchHistory()).events ?? []);
  const files = await writeReport(ctx.config.stateDir, r);
  ctx.out(json ? JSON.stringify(r, null, 2) : reportMarkdown(r));
  if (!json) ctx.out(`(written to ${files.md} and ${files.json})`);
  return 0;
}
