import type { Phase } from './details.js';
import { EXAMPLE_DECISION_PHASE } from './phases.js';
import type { DecisionAction } from './phase-status.js';

/**
 * What an operator types to decide on a failed phase: the Web UI's Update/Signal dialogs, the handler
 * descriptions and the current-details panel all show the same text, so it is built in one place.
 */

/** The `decide` payload for `phase`, as one line of JSON (what the Web UI's Data box takes). */
export function decidePayload(phase: Phase, action: DecisionAction = 'retry', by = 'your name'): string {
  return JSON.stringify({ action, phase, by });
}

/** The CLI command with the same effect as `decidePayload(phase, action)`. */
export function decideCommand(
  runId: string,
  phase: Phase,
  action: DecisionAction,
  prog = 'redeploy',
): string {
  return action === 'skip' ? `${prog} skip --phase ${phase} ${runId}` : `${prog} ${action} ${runId}`;
}

const SHAPE =
  '"action": retry (run the failed phase again), skip (go on without it) or abort (end the run); ' +
  '"phase": the failed phase the run is waiting on; "by": who decides (recorded); "reason" optional.';

/** The `decide` update's description (the Web UI lists it under the name in its Update dialog). */
export function decideUpdateDescription(waiting: Phase | null): string {
  const example = decidePayload(waiting ?? EXAMPLE_DECISION_PHASE);
  const now = waiting ? `${waiting} is waiting. ` : 'Nothing is waiting for a decision now. ';
  return `${now}Decide on a failed phase; a payload naming another phase is refused with the reason. Data, e.g. ${example} — ${SHAPE}`;
}

/** The `decide` signal's description: the same decision, but a wrong one is only logged, never refused. */
export function decideSignalDescription(waiting: Phase | null): string {
  const example = decidePayload(waiting ?? EXAMPLE_DECISION_PHASE);
  const now = waiting ? `${waiting} is waiting. ` : 'Nothing is waiting for a decision now. ';
  return `${now}Same as the decide update, but fire-and-forget: a wrong payload is ignored (worker log) and the run keeps waiting; prefer the update. Data, e.g. ${example}`;
}

export const PROGRESS_QUERY_DESCRIPTION =
  'The run as the CLI mirrors it to the state file: status, phases (error, log_tail), pending_decision, decisions. No arguments.';
