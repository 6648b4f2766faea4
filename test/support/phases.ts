import { PHASES, type Phase, type PhaseStatus } from '../../src/core/phases.js';

/** Expected statuses of all eight phases: `others` for each phase not named in `named`. */
export function statuses(
  others: PhaseStatus,
  named: Partial<Record<Phase, PhaseStatus>> = {},
): Record<Phase, PhaseStatus> {
  return Object.fromEntries(PHASES.map((p) => [p, named[p] ?? others])) as Record<Phase, PhaseStatus>;
}

/** The status of every phase of a state's `phases`, to compare with `statuses(...)`. */
export function statusesOf(phases: Record<Phase, { status: PhaseStatus }>): Record<Phase, PhaseStatus> {
  return Object.fromEntries(PHASES.map((p) => [p, phases[p].status])) as Record<Phase, PhaseStatus>;
}
