/** The eight phases, in execution order. Names are part of the legacy state file and of the activity names. */
export const PHASES = [
  'SYNC',
  'ENV_CHECK',
  'WORKTREE',
  'PIN_UPDATE',
  'DEPLOY',
  'INFISICAL',
  'VERIFY',
  'NOTIFY',
] as const;
export type Phase = (typeof PHASES)[number];

/** Each phase's activity type name: public API (recorded in every history; never rename). */
export const PHASE_ACTIVITY = {
  SYNC: 'sync',
  ENV_CHECK: 'envCheck',
  WORKTREE: 'worktree',
  PIN_UPDATE: 'pinUpdate',
  DEPLOY: 'deploy',
  INFISICAL: 'infisical',
  VERIFY: 'verify',
  NOTIFY: 'notify',
} as const satisfies Record<Phase, string>;

/**
 * Phase statuses. The seed's are pending, completed, failed, skipped_by_flag, skipped_no_infisical;
 * running, skipped_by_operator, cancelled and rolled_back are additive (legacy readers only test for "completed").
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

/** A phase that will not run again on resume: done, or deliberately passed over. */
export function isSettled(status: PhaseStatus): boolean {
  return status === 'completed' || status.startsWith('skipped_');
}

export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}

/** The flags that skip phases (structurally the same fields of RedeployFlags; no import from state). */
export interface SkipFlags {
  skipSync: boolean;
  skipDockerfileUpdate: boolean;
  skipInfisical: boolean;
  verifyOnly: boolean;
}

/** `skipped_by_flag` when this invocation's flags pass the phase over, else undefined. */
export function flagSkip(phase: Phase, flags: SkipFlags): PhaseStatus | undefined {
  const skipped = flags.verifyOnly
    ? phase !== 'VERIFY'
    : (phase === 'SYNC' && flags.skipSync) ||
      (phase === 'PIN_UPDATE' && flags.skipDockerfileUpdate) ||
      (phase === 'INFISICAL' && flags.skipInfisical);
  return skipped ? 'skipped_by_flag' : undefined;
}
