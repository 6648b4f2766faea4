/**
 * Phase statuses, on their own: details.ts, phases.ts, state.ts and decide-help.ts all need them, and
 * a module of its own keeps those type imports from going round in circles.
 *
 * The seed's are pending, completed, failed, skipped_by_flag, skipped_no_infisical; running,
 * skipped_by_operator, cancelled and rolled_back are additive (legacy readers only test for "completed").
 */
export const PHASE_STATUSES = [
  'pending',
  'running',
  'completed',
  'failed',
  'skipped_by_flag',
  'skipped_no_infisical',
  'skipped_by_operator',
  'cancelled',
  // Undone by --rollback-on-failure (PIN_UPDATE, DEPLOY): not settled, so a resume runs it again.
  'rolled_back',
] as const;
export type PhaseStatus = (typeof PHASE_STATUSES)[number];

/** What an operator may decide on a failed phase. */
export type DecisionAction = 'retry' | 'skip' | 'abort';
