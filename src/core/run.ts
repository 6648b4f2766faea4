import { decidePayload } from './decide-help.js';
import type { FailureDetails, PhaseDetails, VerifiedAgainst } from './details.js';
import { PHASE, PHASES, ROLLBACK, flagSkip, isSettled, type Phase, type PhaseStatus } from './phases.js';
import { displayPins, exactVersion, originalSpecifier } from './pins.js';
import {
  formatPins,
  markPhase,
  waitingLine,
  type Decision,
  type DecisionAction,
  type LockHolder,
  type RedeployInput,
  type RedeployState,
  type RunStatus,
} from './state.js';
import type { Versions } from './versions.js';

/**
 * The run's state transitions, as pure functions of the state (which the workflow owns and serves by
 * query). The workflow only calls them in order; each is unit-tested without a server.
 */

/** What an operator sends to a waiting run (the `decide` update and signal). */
export interface DecisionPayload {
  action: DecisionAction;
  /** Must name the phase that is waiting, so a decision meant for one failure never lands on another. */
  phase: Phase;
  by?: string;
  reason?: string;
}

/** What a phase activity returns to the workflow: its status (default completed) and its details. */
export interface PhaseResult<P extends Phase = Phase> {
  status?: PhaseStatus;
  details: PhaseDetails[P];
}

/** The `RedeployPhase` search attribute's value: the phase running now, or where the run stands. */
export function phaseLabel(state: RedeployState, opts: { waiting?: boolean } = {}): string {
  if (state.status === 'completed') return 'COMPLETED';
  // `RedeployPhase = "WAITING_FOR_TARGET"` lists the queued runs.
  if (state.status === 'waiting_for_target') return 'WAITING_FOR_TARGET';
  // `DEPLOY waiting`: the phase failed and waits for an operator (runs list, `redeploy list`).
  if (opts.waiting && state.status === 'waiting_for_decision' && state.current_phase)
    return `${state.current_phase}${WAITING_SUFFIX}`;
  return state.current_phase ?? 'PENDING';
}

/** What follows the phase name in RedeployPhase while the run waits for a decision. */
export const WAITING_SUFFIX = ' waiting';

/** Every RedeployPhase value of a run waiting for a decision (a Web UI saved view: `RedeployPhase IN (…)`). */
export const WAITING_LABELS = PHASES.map((p) => `${p}${WAITING_SUFFIX}`);

/** Flag skips are known at the start: all marked at once, so a watcher sees the whole plan from the start. */
export function markFlagSkips(state: RedeployState, now: string): void {
  for (const phase of PHASES) {
    const skip = flagSkip(phase, state.flags);
    if (skip && !isSettled(state.phases[phase].status)) markPhase(state, phase, skip, now);
  }
}

/** The phases still to run, in order: not skipped by a flag, not settled in an earlier run (resume). */
export function phasesToRun(state: RedeployState): Phase[] {
  return PHASES.filter((p) => !isSettled(state.phases[p].status));
}

export function startPhase(state: RedeployState, phase: Phase, now: string): void {
  markPhase(state, phase, 'running', now);
  state.status = 'running';
}

/** The provenance fields a phase's details carry (WORKTREE: base; PIN_UPDATE: Dockerfile; DEPLOY: what ran). */
export function recordProvenance(state: RedeployState, d: Partial<PhaseDetails[Phase]>): void {
  const p = state.provenance;
  if ('base_commit' in d && d.base_commit) p.base_commit = d.base_commit;
  if ('origin_url' in d && d.origin_url) p.origin_url = d.origin_url;
  if ('dockerfile_sha256' in d && d.dockerfile_sha256) p.dockerfile_sha256 = d.dockerfile_sha256;
  if ('deploy_script' in d && d.deploy_script) p.deploy_script = d.deploy_script;
  if ('deployed_commit' in d && d.deployed_commit) p.deployed_commit = d.deployed_commit;
  if ('image_revision' in d && d.image_revision?.ok) p.image_revision = d.image_revision.label;
}

/** A phase's activity returned: its record, the worktree path, the pins applied and the provenance. */
export function applyResult<P extends Phase>(
  state: RedeployState,
  phase: P,
  result: PhaseResult<P>,
  now: string,
): void {
  applyDetails(state, result.details);
  markPhase(state, phase, result.status ?? 'completed', now, result.details);
}

function applyDetails<P extends Phase>(state: RedeployState, details: PhaseDetails[P]): void {
  const d: Partial<PhaseDetails[Phase]> = details;
  // Read by field, not by phase name: only WORKTREE's details have `path`, only PIN_UPDATE's `pins_applied`.
  if ('path' in d && typeof d.path === 'string') state.worktree_path = d.path;
  if ('pins_applied' in d && d.pins_applied)
    state.pins_applied = Object.fromEntries(Object.entries(d.pins_applied).map(([k, v]) => [k, v.to]));
  recordProvenance(state, d);
}

/** A phase failed for good (retries exhausted, or not retryable): its record keeps the error. */
export function failPhase(
  state: RedeployState,
  phase: Phase,
  failure: { message: string; details: FailureDetails & Record<string, unknown> },
  now: string,
): void {
  markPhase(state, phase, 'failed', now);
  // What the failed activity reported (typed where it threw): kept beside the error.
  Object.assign(state.phases[phase], { error: failure.message }, failure.details);
}

/** The failed phase waits for an operator's retry, skip or abort until `deadline`. */
export function awaitDecision(
  state: RedeployState,
  phase: Phase,
  error: string,
  now: string,
  deadline: string,
): void {
  state.status = 'waiting_for_decision';
  state.pending_decision = { phase, error, since: now, deadline };
}

/**
 * Why a decision is refused, or undefined when it is valid for the waiting phase. `applying`: a decision
 * already accepted in this activation (a signal and an update together: the first wins).
 */
const ACTIONS = ['retry', 'skip', 'abort'] as const;
const DECISION_FIELDS = ['action', 'phase', 'by', 'reason'] as const;
/** Said when a refused payload looks like its r/R keys were lost (the Web UI's User Metadata tab eats them). */
const R_SWALLOWED =
  ' — its r/R look swallowed: Web UI 2.42 takes r/R as "refresh" on the User Metadata tab, even in the dialog. Open the History tab ("Event History" in Web UI 2.54), then send it again';

export function decisionProblem(
  state: RedeployState,
  d: unknown,
  applying: DecisionPayload | undefined,
  /**
   * Also refuse what the Web UI's key handling mangles (an unknown field such as `eason`, the example's
   * `your name`). Off only for signals of runs recorded before it (workflows/redeploy.ts: patched).
   */
  strict = true,
): string | undefined {
  const pending = state.pending_decision;
  if (!pending) return `${state.run_id} is not waiting for a decision (status: ${state.status})`;
  const phase = pending.phase;
  const example = decidePayload(phase);
  if (!d || typeof d !== 'object' || Array.isArray(d))
    return `the data must be one JSON object, e.g. ${example}`;
  const fields = d as Record<string, unknown>; // untrusted JSON from the Web UI or a shell
  const { action, phase: named } = fields;
  const swallowed = (got: unknown, meant: readonly string[]) =>
    typeof got === 'string' && meant.some((m) => m !== got && m.replace(/r/gi, '') === got);
  const mangled = (got: unknown, meant: readonly string[]) => (swallowed(got, meant) ? R_SWALLOWED : '');
  if (action !== 'retry' && action !== 'skip' && action !== 'abort')
    return `action must be retry, skip or abort (got ${JSON.stringify(action) ?? 'none'}), e.g. ${example}${mangled(action, ACTIONS)}`;
  if (named !== phase)
    return `${phase} is waiting, not ${typeof named === 'string' ? named : 'no phase'}: send e.g. ${example}${mangled(named, [phase])}`;
  if (strict) {
    const unknown = Object.keys(fields).filter((k) => !(DECISION_FIELDS as readonly string[]).includes(k));
    if (unknown.length)
      return `unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => JSON.stringify(k)).join(', ')} (the fields are ${DECISION_FIELDS.join(', ')}), e.g. ${example}${unknown.some((k) => swallowed(k, DECISION_FIELDS)) ? R_SWALLOWED : ''}`;
    if (fields['by'] !== undefined && (typeof fields['by'] !== 'string' || !fields['by'].trim()))
      return `by must name who decides, e.g. ${example}`;
    if (fields['reason'] !== undefined && typeof fields['reason'] !== 'string')
      return `reason must be text, e.g. ${decidePayload(phase, 'retry', 'alice')} plus "reason": "…"`;
    const by = typeof fields['by'] === 'string' ? fields['by'].trim().toLowerCase() : '';
    if (by === 'your name' || by === 'you name')
      return `"by" is still the example's placeholder: put who decides (your name), e.g. ${decidePayload(phase, 'retry', 'alice')}${by === 'you name' ? R_SWALLOWED : ''}`;
  }
  if (applying !== undefined) return `a decision (${applying.action}) for ${phase} is already being applied`;
  if (action === 'skip' && !PHASE[phase].operatorSkip)
    return `${phase} cannot be skipped: later phases need the worktree; fix it and retry, or abort`;
  return undefined;
}

/**
 * The operator's decision, recorded. Returns what the run does next: `retry` the phase, go on after a
 * `skip`, or end (`abort`, then the state is final).
 */
export function recordDecision(
  state: RedeployState,
  phase: Phase,
  d: DecisionPayload,
  error: string,
  now: string,
): DecisionAction {
  state.pending_decision = null;
  const by = d.by ?? 'unknown';
  const decision: Decision = {
    phase,
    action: d.action,
    by,
    at: now,
    ...(d.reason ? { reason: d.reason } : {}),
  };
  state.decisions.push(decision);
  if (d.action === 'abort')
    finish(state, 'aborted', `aborted by ${d.by ?? 'an operator'} at ${phase}: ${error}`, now);
  if (d.action === 'skip') {
    markPhase(state, phase, 'skipped_by_operator', now, { error, by });
    state.status = 'running';
  }
  return d.action;
}

/** No decision came before the deadline: the run fails. */
export function decisionTimedOut(
  state: RedeployState,
  phase: Phase,
  error: string,
  deadline: string,
  now: string,
): void {
  state.pending_decision = null;
  finish(state, 'failed', `${phase} failed and no decision came before ${deadline}: ${error}`, now);
}

export function finish(state: RedeployState, status: RunStatus, error: string, now: string): void {
  state.status = status;
  state.error = error;
  state.finished_at = now;
}

export function markCompleted(state: RedeployState, now: string): void {
  state.status = 'completed';
  state.current_phase = null;
  state.finished_at = now;
}

/**
 * The run was cancelled (`redeploy cancel`, the Web UI's Cancel): the running phase and a running
 * rollback are marked so, and nothing waits any more. A run whose outcome was already set keeps it
 * (cancelled while it sent its final message).
 */
export function markCancelled(state: RedeployState, now: string): boolean {
  if (state.finished_at !== null) return false;
  if (state.rollback?.status === 'running')
    state.rollback = { ...state.rollback, status: 'failed', finished_at: now, error: 'cancelled' };
  const phase = state.current_phase;
  if (phase && state.phases[phase].status === 'running') markPhase(state, phase, 'cancelled', now);
  state.status = 'cancelled';
  state.pending_decision = null;
  state.waiting_for = null;
  state.finished_at = now;
  return true;
}

/** Queued behind another run on the target; true when what is shown changed (a new holder). */
export function waitForTarget(state: RedeployState, holder: LockHolder): boolean {
  if (state.status === 'waiting_for_target' && state.waiting_for?.run_id === holder.run_id) return false;
  state.status = 'waiting_for_target';
  state.waiting_for = holder;
  return true;
}

/** The target is this run's now; true when it had been waiting (the change is worth publishing). */
export function targetTaken(state: RedeployState): boolean {
  if (!state.waiting_for) return false;
  state.waiting_for = null;
  state.status = 'running';
  return true;
}

/** Gave up waiting for the target after `waitMs`. */
export function targetWaitTimedOut(
  state: RedeployState,
  holder: LockHolder,
  waitMs: number,
  now: string,
): void {
  finish(state, 'failed', `gave up after ${Math.round(waitMs / 60_000)} min ${waitingLine(holder)}`, now);
}

/** What DEPLOY must find in the Dockerfile: the requested pins, or origin's when no pin was written. */
export function expectedPins(state: RedeployState, input: RedeployInput): Versions | 'unchanged' {
  // Admitted pins are origin's own: the Dockerfile must be exactly HEAD's.
  if (input.flags.pinPolicy === 'admit') return 'unchanged';
  return state.phases.PIN_UPDATE.status === 'completed' ? { ...input.versions } : 'unchanged';
}

/** What VERIFY checks against: the deployed commit (else the base) and the Dockerfile written. */
export function verifiedAgainst(state: RedeployState): VerifiedAgainst {
  return {
    ref: state.provenance.ref,
    commit: state.provenance.deployed_commit ?? state.provenance.base_commit,
    dockerfile_sha256: state.provenance.dockerfile_sha256,
  };
}

/** --rollback-on-failure: what to restore, or why there is nothing to roll back. */
export type RollbackPlan =
  | {
      ok: true;
      /** The original specifiers' bytes (`''` when it was unpinned): what PIN_UPDATE writes back. */
      restore: Versions;
      /** Every place's bytes per package; a package recorded for one place only has one entry (checked). */
      restoreHits: Record<string, string[]>;
      /** The same pins for display and DEPLOY's preflight (which compares display forms). */
      display: Versions;
      /** The exact versions VERIFY can check afterwards (a range or an unpinned package is not checked). */
      verify: Versions;
    }
  | { ok: false; why: string };

/**
 * Each package PIN_UPDATE changed goes back to the bytes it had: WORKTREE's pins_found_raw, else the
 * change's own from_raw. Never a display form parsed back (a `===0.6.0` pin stays `===0.6.0`).
 */
export function rollbackPlan(state: RedeployState): RollbackPlan {
  const applied = state.phases[ROLLBACK.restore].pins_applied ?? {};
  const foundRaw = state.phases[ROLLBACK.found].pins_found_raw ?? {};
  const foundHits = state.phases[ROLLBACK.found].pins_found_raw_hits ?? {};
  const restore: Versions = {};
  const restoreHits: Record<string, string[]> = {};
  for (const [pkg, change] of Object.entries(applied)) {
    if (change.action === 'admitted') continue; // never edited: nothing to restore
    const raw = originalSpecifier(foundRaw[pkg], change);
    if (raw === undefined) continue;
    restore[pkg] = raw;
    // WORKTREE's record first (as for `raw`); an older record has the first place's bytes only.
    const hits = [foundHits[pkg], change.from_raw_hits].find(
      (h): h is string[] => Array.isArray(h) && h.some((b) => b !== `==${change.to}`),
    );
    restoreHits[pkg] = hits ?? [raw];
  }
  if (state.phases[ROLLBACK.redeploy].status !== 'completed' || Object.keys(restore).length === 0)
    return {
      ok: false,
      why: 'nothing to roll back: DEPLOY did not complete, or PIN_UPDATE changed no pin (or was skipped)',
    };
  const verify = Object.fromEntries(
    Object.entries(restore).flatMap(([k, v]) => {
      const version = exactVersion(v);
      return version === undefined ? [] : [[k, version]];
    }),
  );
  return { ok: true, restore, restoreHits, display: displayPins(restore), verify };
}

/** There was nothing to roll back: recorded, and the run waits for a decision on VERIFY as usual. */
export function rollbackImpossible(state: RedeployState, reason: string, why: string, now: string): void {
  state.rollback = { status: 'failed', to: {}, reason, started_at: now, finished_at: now, error: why };
}

/** Marked before anything is undone: a resume after a half-done rollback runs both phases again. */
export function startRollback(
  state: RedeployState,
  plan: Extract<RollbackPlan, { ok: true }>,
  reason: string,
  now: string,
): void {
  state.rollback = {
    status: 'running',
    to: plan.display,
    reason,
    started_at: now,
    finished_at: null,
    error: null,
  };
  const pin = state.phases[ROLLBACK.restore];
  markPhase(state, ROLLBACK.restore, 'rolled_back', now, {
    ...(pin.pins_applied ? { pins_applied: pin.pins_applied } : {}),
    rolled_back_to: plan.display,
  });
  markPhase(state, ROLLBACK.redeploy, 'rolled_back', now);
  state.status = 'running';
}

/** A rollback step failed: the run fails, saying which step and why. */
export function rollbackFailed(state: RedeployState, step: Phase, message: string, now: string): void {
  if (state.rollback)
    state.rollback = { ...state.rollback, status: 'failed', finished_at: now, error: `${step}: ${message}` };
  finish(
    state,
    'failed',
    `VERIFY failed: ${state.rollback?.reason ?? ''}\nrollback failed at ${step}: ${message}`,
    now,
  );
}

/** The previous pins are deployed and verified again: the run ends rolled_back. */
export function rollbackCompleted(state: RedeployState, restored: Versions, now: string): void {
  if (state.rollback) state.rollback = { ...state.rollback, status: 'completed', finished_at: now };
  // Nothing this run applied is still applied (the skill result reads pins_applied); `rollback.to` says what runs.
  state.pins_applied = {};
  finish(
    state,
    'rolled_back',
    `VERIFY failed: ${state.rollback?.reason ?? ''}\nrolled back to ${formatPins(restored)}`,
    now,
  );
}
