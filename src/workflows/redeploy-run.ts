import {
  ApplicationFailure,
  CancelledFailure,
  condition,
  isCancellation,
  log,
  patched,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { FailureNotice } from '../activities/index.js';
import {
  PROGRESS_QUERY_DESCRIPTION,
  decideSignalDescription,
  decideUpdateDescription,
} from '../core/decide-help.js';
import {
  REDEPLOY_PHASE,
  decideSignal,
  decideUpdate,
  progressQuery,
  type DecisionAck,
} from '../core/messages.js';
import { PHASE, ROLLBACK, isHalfRun, type Phase } from '../core/phases.js';
import * as run from '../core/run.js';
import {
  formatPins,
  initState,
  renderDetails,
  touch,
  type DecisionAction,
  type RedeployInput,
  type RedeployState,
} from '../core/state.js';
import { alertSummary } from '../core/summary.js';
import type { Versions } from '../core/versions.js';
import { phaseFailure, refusal } from './failure.js';
import { atActivationEnd } from './conclude.js';
import { mirrorState } from './mirror.js';
import { DECISION_TIMEOUT_MS } from '../core/defaults.js';
import { acts } from './options.js';
import { callPhase, deployInput, verifyInput } from './phase-calls.js';
import { TargetUnavailable, acquireTarget, releaseTarget, type TargetLockHandle } from './target-lock.js';

/**
 * One redeploy run: its state, its message handlers and the steps the workflow function calls in order
 * (as samples-typescript's `safe-message-handlers` ClusterManager). Every state change is a pure
 * transition in core/run.ts; this class orders them around the activities, publishes each change and
 * waits for decisions.
 */

/** Patch id of the `<PHASE> waiting` search attribute value (issue 20). */
export const WAITING_LABEL_PATCH = 'redeploy-phase-waiting-label';

/** Workflow time (deterministic in the sandbox), as the seed's ISO timestamps. */
const now = (): string => new Date().toISOString();

export class RedeployRun {
  readonly state: RedeployState;
  private readonly runId = workflowInfo().runId;
  private readonly decisionTimeoutMs: number;
  /** The operator's decision on the waiting phase, once one was accepted. */
  private decision: run.DecisionPayload | undefined;
  /** The last RedeployPhase value upserted (an upsert is a history event: only on change). */
  private label: string | undefined;
  /** Failure notices sent so far (each one's key is unique per execution). */
  private notices = 0;
  private lock: TargetLockHandle | undefined;

  constructor(private readonly input: RedeployInput) {
    const info = workflowInfo();
    this.state = initState(input, { workflowId: info.workflowId, runId: info.runId }, now());
    this.decisionTimeoutMs = input.decisionTimeoutMs ?? DECISION_TIMEOUT_MS;
    setHandler(progressQuery, () => this.state, { description: PROGRESS_QUERY_DESCRIPTION });
    this.describeHandlers(null);
  }

  // ── Messages ────────────────────────────────────────────────────────────────────────────────────
  /**
   * The decision handlers, described for the phase that waits (the Web UI shows it in its Update and
   * Signal dialogs). Re-registering adds no command to the history: replay is unaffected.
   */
  private describeHandlers(waiting: Phase | null): void {
    const validator = (d: run.DecisionPayload): void => {
      const problem = run.decisionProblem(this.state, d, this.decision);
      if (problem) throw refusal(problem);
    };
    setHandler(decideUpdate, (d) => this.accept(d), {
      validator,
      description: decideUpdateDescription(waiting),
    });
    setHandler(decideSignal, (d) => this.onDecideSignal(d), {
      description: decideSignalDescription(waiting),
    });
  }

  private accept(d: run.DecisionPayload): DecisionAck {
    // Read before the decision is applied: the wait it answers (an update's result is not a command,
    // so a recorded history replays the same with this field added).
    const since = this.state.pending_decision?.since;
    this.decision = d;
    return { accepted: true as const, phase: d.phase, action: d.action, ...(since ? { since } : {}) };
  }

  private onDecideSignal(d: run.DecisionPayload): void {
    // The stricter checks ignore signals a run recorded before them accepted: replay stays the same.
    const problem = run.decisionProblem(this.state, d, this.decision, patched('decide-refuses-mangled'));
    if (problem) log.warn('ignored decide signal', { error: problem, payload: d });
    else this.accept(d);
  }

  // ── What every change shows, and how the run ends ───────────────────────────────────────────────
  private publish(): void {
    const state = this.state;
    touch(state);
    // The details and the host's mirror show the activation's last state, once, at its end (neither is
    // a history event: workflows/conclude.ts).
    atActivationEnd(this.show);
    // `DEPLOY waiting` while a decision is awaited: a new upsert, so histories recorded before it
    // (no marker) replay with the plain phase name.
    const waiting = state.status === 'waiting_for_decision' && patched(WAITING_LABEL_PATCH);
    const next = run.phaseLabel(state, { waiting });
    if (next === this.label) return; // a search-attribute upsert is a history event: only on change
    this.label = next;
    upsertSearchAttributes([{ key: REDEPLOY_PHASE, value: next }]);
  }

  /** The message for a run that did not complete (Slack when active). Best effort: never changes the outcome. */
  private async alert(
    kind: FailureNotice['kind'],
    phase: Phase | null,
    error: string,
    rolledBackTo?: Versions,
  ): Promise<void> {
    const { input, state } = this;
    this.notices++;
    const notice: FailureNotice = {
      kind,
      // Unique per execution and event: a resumed run (same run_id, new execution) posts its own failures.
      key: `${kind}-${phase ?? 'run'}-${this.runId.slice(0, 8)}-${this.notices}`,
      phase,
      error,
      versions: input.versions,
      flags: input.flags,
      target: input.target ?? null,
      provenance: state.provenance,
      deploy: state.phases.DEPLOY.status,
      ticket: input.worktreeTicket,
      ...(rolledBackTo ? { rolledBackTo } : {}),
    };
    const summary = alertSummary(kind, phase, rolledBackTo);
    try {
      await acts[PHASE.NOTIFY.options].notifyFailure.executeWithOptions({ summary }, [input.runId, notice]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('failure notification not sent', { kind, error: phaseFailure('the message', err).message });
    }
  }

  /** The Web UI's current details, and the host's state file and skill result (a sink, written by the worker). */
  private readonly show = (): void => {
    setCurrentDetails(renderDetails(this.state));
    mirrorState(this.state, this.input.skillContext);
  };

  /** The run's failure, once the state is final: its message is the state's error, its details the state. */
  private fail(type: string): ApplicationFailure {
    const message = this.state.error ?? type;
    return ApplicationFailure.create({ type, message, nonRetryable: true, details: [this.state] });
  }

  // ── The run's steps, in the order workflows/redeploy.ts calls them ──────────────────────────────
  /** Flag skips marked, then the target taken (queued behind another run when it holds it). */
  async start(): Promise<void> {
    run.markFlagSkips(this.state, now());
    this.publish();
    // VERIFY-only runs only read: they never queue behind (or block) a deploy of the same host.
    if (this.input.flags.verifyOnly) return;
    try {
      this.lock = await acquireTarget(this.input, this.state, now, () => this.publish());
    } catch (err) {
      if (!(err instanceof TargetUnavailable)) throw err;
      this.publish();
      if (err.type === 'TargetWaitTimeout')
        await this.alert('target_wait_timeout', null, this.state.error ?? '');
      throw this.fail(err.type);
    }
  }

  /** One phase, until it completes or an operator skips it. Throws on abort, a decision timeout or cancellation. */
  async runPhase(phase: Phase): Promise<void> {
    const state = this.state;
    let reattempt = isHalfRun(state.phases[phase].status); // an earlier run may have half-run it
    for (;;) {
      run.startPhase(state, phase, now());
      this.publish();
      try {
        const result = await callPhase(phase, { input: this.input, state, reattempt });
        run.applyResult(state, phase, result, now());
        this.publish();
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = phaseFailure(phase, err);
        run.failPhase(state, phase, failure, now());
        if (PHASE[phase].onFailure === 'rollback' && this.input.flags.rollbackOnFailure)
          await this.rollBack(failure.message);
        if ((await this.awaitDecision(phase, failure.message)) === 'skip') return;
        reattempt = true; // retry: this phase again; earlier phases stay as they are
      }
    }
  }

  /** The failed phase waits for an operator: returns retry or skip; throws on abort or timeout. */
  private async awaitDecision(phase: Phase, error: string): Promise<DecisionAction> {
    const state = this.state;
    // Date in workflow code is the SDK's deterministic workflow clock, not the host's.
    const deadline = new Date(Date.now() + this.decisionTimeoutMs).toISOString();
    run.awaitDecision(state, phase, error, now(), deadline);
    this.publish();
    this.describeHandlers(phase);
    this.decision = undefined;
    // Sent while the run already accepts decisions: one arriving meanwhile is kept, not lost.
    await this.alert('failed', phase, error);
    const decided = await condition(() => this.decision !== undefined, this.decisionTimeoutMs);
    this.describeHandlers(null);
    if (!decided || !this.decision) {
      run.decisionTimedOut(state, phase, error, deadline, now());
      this.publish();
      await this.alert('decision_timeout', phase, error);
      throw this.fail('DecisionTimeout');
    }
    const action = run.recordDecision(state, phase, this.decision, error, now());
    this.publish();
    if (action === 'abort') {
      await this.alert('aborted', phase, state.error ?? error);
      throw this.fail('RedeployAborted');
    }
    return action;
  }

  // ── --rollback-on-failure (saga compensation) ───────────────────────────────────────────────────
  /**
   * After a phase whose row says `onFailure: 'rollback'` (VERIFY) failed for good: restore the original
   * pins, redeploy and verify them (ROLLBACK's steps). Ends the run (rolled_back, or failed when a step
   * fails); returns only when there is nothing to roll back, and the run then waits for a decision.
   */
  private async rollBack(reason: string): Promise<void> {
    const state = this.state;
    const plan = run.rollbackPlan(state);
    if (!plan.ok) return run.rollbackImpossible(state, reason, plan.why, now());
    run.startRollback(state, plan, reason, now());
    this.publish();
    let step: Phase = ROLLBACK.restore;
    try {
      await this.rollbackSteps(plan, (s) => (step = s));
    } catch (err) {
      if (isCancellation(err)) throw err;
      run.rollbackFailed(state, step, phaseFailure(step, err).message, now());
      this.publish();
      await this.alert('rollback_failed', ROLLBACK.verify, state.error ?? '');
      throw this.fail('RollbackFailed');
    }
    run.rollbackCompleted(state, plan.restore, now());
    this.publish();
    await this.alert('rolled_back', ROLLBACK.verify, reason, plan.restore);
    throw this.fail('RolledBack');
  }

  /** The rollback's three activities, in order; `at` is told each step before it starts. */
  private async rollbackSteps(
    plan: Extract<run.RollbackPlan, { ok: true }>,
    at: (step: Phase) => void,
  ): Promise<void> {
    const { input, state } = this;
    const call = { input, state, reattempt: true };
    const restored = await acts[PHASE[ROLLBACK.restore].options].pinUpdate.executeWithOptions(
      { summary: `ROLLBACK ${ROLLBACK.restore} ${formatPins(plan.restore)}` },
      [
        input.runId,
        { ticket: input.worktreeTicket, versions: {}, restore: plan.restore, restoreHits: plan.restoreHits },
      ],
    );
    run.recordProvenance(state, restored.details);
    at(ROLLBACK.redeploy);
    const deployed = await acts[PHASE[ROLLBACK.redeploy].options].deploy.executeWithOptions(
      { summary: `ROLLBACK ${ROLLBACK.redeploy} deploy-runtime.sh --force` },
      [input.runId, deployInput(call, plan.display)],
    );
    run.recordProvenance(state, deployed.details);
    at(ROLLBACK.verify);
    await acts[PHASE[ROLLBACK.verify].options].verify.executeWithOptions(
      { summary: `ROLLBACK ${ROLLBACK.verify} ${formatPins(plan.verify)}` },
      [input.runId, verifyInput(call, plan.verify)],
    );
  }

  // ── The end ─────────────────────────────────────────────────────────────────────────────────────
  /** Every phase settled: the run completed, and its target is free. */
  async complete(): Promise<RedeployState> {
    run.markCompleted(this.state, now());
    this.publish();
    await releaseTarget(this.lock);
    return this.state;
  }

  /** The run ended by `err` (failed, aborted, rolled back, cancelled): returns it, to be thrown. */
  async ended(err: unknown): Promise<unknown> {
    const cancelled = isCancellation(err) || err instanceof CancelledFailure;
    // A cancel while the final message was being sent: the outcome stands (it was already published).
    if (cancelled && run.markCancelled(this.state, now())) this.publish();
    // Failed, aborted, rolled back: the run is over, its lock completes with it.
    if (!cancelled) await releaseTarget(this.lock);
    return err;
  }
}
