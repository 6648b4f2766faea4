import { patched } from '@temporalio/workflow';
import { PHASE, PHASES, isSettled } from '../core/phases.js';
import type { RedeployInput, RedeployState } from '../core/state.js';
import { RedeployRun } from './redeploy-run.js';

/**
 * The redeploy: the phases in order (core/phases.ts), each run as its activity until it completes; a
 * phase that fails for good waits for an operator's retry, skip or abort. The run's state, handlers and
 * steps are a RedeployRun (workflows/redeploy-run.ts); this function only wires them and loops.
 */

export { WAITING_LABEL_PATCH } from './redeploy-run.js';

export async function redeploy(input: RedeployInput): Promise<RedeployState> {
  const run = new RedeployRun(input);
  try {
    await run.start();
    for (const phase of PHASES) {
      if (isSettled(run.state.phases[phase].status)) continue; // skipped by flag, or settled in an earlier run (resume)
      // A phase added after release runs only in runs started since: older histories replay without it.
      const since = PHASE[phase].since;
      if (since !== undefined && !patched(since)) continue;
      await run.runPhase(phase);
    }
    return await run.complete();
  } catch (err) {
    throw await run.ended(err);
  }
}
