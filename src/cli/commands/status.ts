import { PHASES } from '../../core/phases.js';
import { isActive, waitingLine } from '../../core/state.js';
import { deployHeadline } from '../../core/provenance.js';
import { workflowUrl } from '../../io/temporal.js';
import { mirrorState } from '../attach.js';
import { closingLines } from '../progress.js';
import { lastState, runHandle, type Context } from './shared.js';

/** `redeploy status <run_id>`: the run's phases once (and the legacy state file written). */
export async function status(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = runHandle(ctx, runId);
  const description = await handle.describe();
  const state = await lastState(ctx, handle);
  if (!state) {
    ctx.out(
      `${runId}: ${description.status.name.toLowerCase()} (no progress state readable: is a worker running?)`,
    );
    return 1;
  }
  await mirrorState(ctx.config, state);
  if (json) {
    ctx.out(JSON.stringify(state, null, 2));
    return 0;
  }
  ctx.out(
    `${runId}: ${state.status}${state.current_phase ? ` (${state.current_phase})` : ''} — ${workflowUrl(ctx.config, runId)}`,
  );
  for (const p of PHASES) {
    const r = state.phases[p];
    ctx.out(`  ${`${p}:`.padEnd(12)}${r.status}${r.ts ? `  ${r.ts}` : ''}`);
  }
  if (state.waiting_for) ctx.out(`  ${waitingLine(state.waiting_for)}`);
  // Older states (before provenance was recorded) have none.
  if (state.provenance) {
    const p = state.provenance;
    ctx.out(
      `  ${deployHeadline(p, state.phases.DEPLOY.status, !state.finished_at)}${p.dockerfile_sha256 ? ` · Dockerfile sha256 ${p.dockerfile_sha256.slice(0, 16)}` : ''}`,
    );
    if (p.deploy_script) ctx.out(`  Script:     ${p.deploy_script}`);
  }
  if (!isActive(state.status)) for (const l of closingLines(state)) ctx.out(l);
  return 0;
}
