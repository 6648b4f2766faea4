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
import { PHASE, PHASES, isHalfRun, isSettled, type Phase } from '../core/phases.js';
import * as run from '../core/run.js';
import {
  formatPins,
  initState,
  renderDetails,
  touch,
  type RedeployInput,
  type RedeployState,
} from '../core/state.js';
import { alertSummary } from '../core/summary.js';
import type { Versions } from '../core/versions.js';
import { phaseFailure, refusal } from './failure.js';
import { REDEPLOY_PHASE, decideSignal, decideUpdate, progressQuery } from './messages.js';
import { mirrorState } from './mirror.js';
import { acts } from './options.js';
import { DECISION_TIMEOUT_MS } from '../core/defaults.js';
import { callPhase, deployInput, verifyInput } from './phase-calls.js';
import { TargetUnavailable, acquireTarget, releaseTarget, type TargetLockHandle } from './target-lock.js';

/**
 * The redeploy: the phases in order (core/phases.ts), each run as its activity until it completes; a
 * phase that fails for good waits for an operator's retry, skip or abort. Every state change is a pure
 * transition in core/run.ts; this function wires the handlers, runs the loop and waits.
 */

/** Patch id of the `<PHASE> waiting` search attribute value (issue 20). */
export const WAITING_LABEL_PATCH = 'redeploy-phase-waiting-label';

/** Workflow time (deterministic in the sandbox), as the seed's ISO timestamps. */
const now = (): string => new Date().toISOString();

export async function redeploy(input: RedeployInput): Promise<RedeployState> {
  const info = workflowInfo();
  const state = initState(input, { workflowId: info.workflowId, runId: info.runId }, now());
  const decisionTimeoutMs = input.decisionTimeoutMs ?? DECISION_TIMEOUT_MS;
  let decision: run.DecisionPayload | undefined;

  // ── Messages ────────────────────────────────────────────────────────────────────────────────────
  setHandler(progressQuery, () => state, { description: PROGRESS_QUERY_DESCRIPTION });
  /**
   * The decision handlers, described for the phase that waits (the Web UI shows it in its Update and
   * Signal dialogs). Re-registering adds no command to the history: replay is unaffected.
   */
  const describeHandlers = (waiting: Phase | null): void => {
    const validator = (d: run.DecisionPayload): void => {
      const problem = run.decisionProblem(state, d, decision);
      if (problem) throw refusal(problem);
    };
    const accept = (d: run.DecisionPayload) => {
      decision = d;
      return { accepted: true as const, phase: d.phase, action: d.action };
    };
    setHandler(decideUpdate, accept, { validator, description: decideUpdateDescription(waiting) });
    setHandler(
      decideSignal,
      (d) => {
        // The stricter checks ignore signals a run recorded before them accepted: replay stays the same.
        const problem = run.decisionProblem(state, d, decision, patched('decide-refuses-mangled'));
        if (problem) log.warn('ignored decide signal', { error: problem, payload: d });
        else accept(d);
      },
      { description: decideSignalDescription(waiting) },
    );
  };
  describeHandlers(null);

  // ── What every change shows, and how the run ends ───────────────────────────────────────────────
  let label: string | undefined;
  const publish = (): void => {
    touch(state);
    setCurrentDetails(renderDetails(state));
    // The host's state file and skill result, written by the worker (a sink: no history event).
    mirrorState(state, input.skillContext);
    // `DEPLOY waiting` while a decision is awaited: a new upsert, so histories recorded before it
    // (no marker) replay with the plain phase name.
    const waiting = state.status === 'waiting_for_decision' && patched(WAITING_LABEL_PATCH);
    const next = run.phaseLabel(state, { waiting });
    if (next === label) return; // a search-attribute upsert is a history event: only on change
    label = next;
    upsertSearchAttributes([{ key: REDEPLOY_PHASE, value: label }]);
  };
  let notices = 0;
  /** The message for a run that did not complete (Slack when active). Best effort: never changes the outcome. */
  const alert = async (
    kind: FailureNotice['kind'],
    phase: Phase | null,
    error: string,
    rolledBackTo?: Versions,
  ) => {
    notices++;
    const notice: FailureNotice = {
      kind,
      // Unique per execution and event: a resumed run (same run_id, new execution) posts its own failures.
      key: `${kind}-${phase ?? 'run'}-${info.runId.slice(0, 8)}-${notices}`,
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
  };
  /** The run's failure, once the state is final: its message is the state's error, its details the state. */
  const fail = (type: string): ApplicationFailure =>
    ApplicationFailure.create({ type, message: state.error ?? type, nonRetryable: true, details: [state] });

  // ── --rollback-on-failure (saga compensation) ───────────────────────────────────────────────────
  /**
   * After VERIFY failed for good: restore PIN_UPDATE's original pins, redeploy and verify them. Ends the
   * run (rolled_back, or failed when a step fails); returns only when there is nothing to roll back, and
   * the run then waits for a decision as usual.
   */
  const rollBack = async (reason: string): Promise<void> => {
    const plan = run.rollbackPlan(state);
    if (!plan.ok) return run.rollbackImpossible(state, reason, plan.why, now());
    run.startRollback(state, plan, reason, now());
    publish();
    const call = { input, state, reattempt: true };
    let step: Phase = 'PIN_UPDATE';
    try {
      const restored = await acts[PHASE.PIN_UPDATE.options].pinUpdate.executeWithOptions(
        { summary: `ROLLBACK PIN_UPDATE ${formatPins(plan.restore)}` },
        [
          input.runId,
          {
            ticket: input.worktreeTicket,
            versions: {},
            restore: plan.restore,
            restoreHits: plan.restoreHits,
          },
        ],
      );
      run.recordProvenance(state, restored.details);
      step = 'DEPLOY';
      const deployed = await acts[PHASE.DEPLOY.options].deploy.executeWithOptions(
        { summary: 'ROLLBACK DEPLOY deploy-runtime.sh --force' },
        [input.runId, deployInput(call, plan.display)],
      );
      run.recordProvenance(state, deployed.details);
      step = 'VERIFY';
      await acts[PHASE.VERIFY.options].verify.executeWithOptions(
        { summary: `ROLLBACK VERIFY ${formatPins(plan.verify)}` },
        [input.runId, verifyInput(call, plan.verify)],
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      run.rollbackFailed(state, step, phaseFailure(step, err).message, now());
      publish();
      await alert('rollback_failed', 'VERIFY', state.error ?? '');
      throw fail('RollbackFailed');
    }
    run.rollbackCompleted(state, plan.restore, now());
    publish();
    await alert('rolled_back', 'VERIFY', reason, plan.restore);
    throw fail('RolledBack');
  };

  // ── One phase, until it completes or an operator skips it ───────────────────────────────────────
  /** Throws on abort, a decision timeout or cancellation. */
  const runPhase = async (phase: Phase): Promise<void> => {
    let reattempt = isHalfRun(state.phases[phase].status); // an earlier run may have half-run it
    for (;;) {
      run.startPhase(state, phase, now());
      publish();
      try {
        run.applyResult(state, phase, await callPhase(phase, { input, state, reattempt }), now());
        publish();
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const failure = phaseFailure(phase, err);
        run.failPhase(state, phase, failure, now());
        if (phase === 'VERIFY' && input.flags.rollbackOnFailure) await rollBack(failure.message);
        // Date in workflow code is the SDK's deterministic workflow clock, not the host's.
        const deadline = new Date(Date.now() + decisionTimeoutMs).toISOString();
        run.awaitDecision(state, phase, failure.message, now(), deadline);
        publish();
        describeHandlers(phase);
        decision = undefined;
        // Sent while the run already accepts decisions: one arriving meanwhile is kept, not lost.
        await alert('failed', phase, failure.message);
        const decided = await condition(() => decision !== undefined, decisionTimeoutMs);
        describeHandlers(null);
        if (!decided || !decision) {
          run.decisionTimedOut(state, phase, failure.message, deadline, now());
          publish();
          await alert('decision_timeout', phase, failure.message);
          throw fail('DecisionTimeout');
        }
        const action = run.recordDecision(state, phase, decision, failure.message, now());
        publish();
        if (action === 'abort') {
          await alert('aborted', phase, state.error ?? failure.message);
          throw fail('RedeployAborted');
        }
        if (action === 'skip') return;
        reattempt = true; // retry: this phase again; earlier phases stay as they are
      }
    }
  };

  // ── The run ─────────────────────────────────────────────────────────────────────────────────────
  let lock: TargetLockHandle | undefined;
  try {
    run.markFlagSkips(state, now());
    publish();
    // VERIFY-only runs only read: they never queue behind (or block) a deploy of the same host.
    if (!input.flags.verifyOnly) {
      try {
        lock = await acquireTarget(input, state, now, publish);
      } catch (err) {
        if (!(err instanceof TargetUnavailable)) throw err;
        publish();
        if (err.type === 'TargetWaitTimeout') await alert('target_wait_timeout', null, state.error ?? '');
        throw fail(err.type);
      }
    }
    for (const phase of PHASES) {
      if (isSettled(state.phases[phase].status)) continue; // skipped by flag, or settled in an earlier run (resume)
      await runPhase(phase);
    }
    run.markCompleted(state, now());
    publish();
    await releaseTarget(lock);
    return state;
  } catch (err) {
    const cancelled = isCancellation(err) || err instanceof CancelledFailure;
    // A cancel while the final message was being sent: the outcome stands (it was already published).
    if (cancelled && run.markCancelled(state, now())) publish();
    // Failed, aborted, rolled back: the run is over, its lock completes with it.
    if (!cancelled) await releaseTarget(lock);
    throw err;
  }
}
