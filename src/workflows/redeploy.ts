import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { PhaseOutcome, RedeployActivities } from '../activities/index.js';
import { PHASES, isSettled, type Phase, type PhaseStatus } from '../core/phases.js';
import {
  initState,
  markPhase,
  phaseStatuses,
  renderDetails,
  touch,
  type RedeployInput,
  type RedeployState,
} from '../core/state.js';
import {
  REDEPLOY_PHASE,
  decideSignal,
  decideUpdate,
  progressQuery,
  type DecisionPayload,
} from './messages.js';

// ── Activity options, grouped by behaviour ────────────────────────────────────────────────────────
// Every command-running activity heartbeats every 2 s, so a heartbeat timeout finds a dead worker fast.
// WAIT_CANCELLATION_COMPLETED: a cancelled run is reported only once the process group is really gone.

/** Quick, local checks (ENV_CHECK, PIN_UPDATE): failures are mostly permanent and marked non-retryable. */
const QUICK: ActivityOptions = {
  startToCloseTimeout: '10 minutes', // script-mode PIN_UPDATE may `uv run` in a fresh worktree (5 min budget)
  // Without it a worker killed mid-phase is noticed only after the 10 minutes; commands heartbeat every 2 s.
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
};
/** git over the network (SYNC, WORKTREE): a fetch hiccup deserves a few spaced-out retries. */
const GIT: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 4 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** DEPLOY builds images: minutes, not seconds. Retries only cover the lock of another deploy and a dead worker. */
const LONG: ActivityOptions = {
  startToCloseTimeout: '60 minutes',
  // A killed worker is noticed in 20 s, not after the hour; the worker heartbeats at least every 3 s
  // (maxHeartbeatThrottleInterval), so a loaded machine has 17 s of slack.
  heartbeatTimeout: '20s',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 6 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** INFISICAL seeding is idempotent; a hiccup of the Infisical API is retried. */
const SEED: ActivityOptions = { ...GIT, startToCloseTimeout: '15 minutes' };
/** VERIFY polls until its own deadline (≤ 10 min); a retry would only double the wait, so one retry for a lost worker. */
const VERIFY: ActivityOptions = {
  startToCloseTimeout: '12 minutes',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 2 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** NOTIFY mirrors the Slack node: 3 retries at 1, 2, 4 s (a 429's Retry-After overrides the interval). */
const NOTIFY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30s', // a Slack request ends within 10 s; the tier probe heartbeats
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 4, maximumInterval: '4s' },
};

const acts = {
  quick: proxyActivities<RedeployActivities>(QUICK),
  git: proxyActivities<RedeployActivities>(GIT),
  long: proxyActivities<RedeployActivities>(LONG),
  seed: proxyActivities<RedeployActivities>(SEED),
  verify: proxyActivities<RedeployActivities>(VERIFY),
  notify: proxyActivities<RedeployActivities>(NOTIFY),
};

const DEFAULT_DECISION_TIMEOUT_MS = 24 * 3_600_000;

/** Workflow time (deterministic in the sandbox), as the seed's ISO timestamps. */
const now = (): string => new Date().toISOString();

function skipStatus(phase: Phase, input: RedeployInput): PhaseStatus | undefined {
  const f = input.flags;
  if (f.verifyOnly) return phase === 'VERIFY' ? undefined : 'skipped_by_flag';
  if (phase === 'SYNC' && f.skipSync) return 'skipped_by_flag';
  if (phase === 'PIN_UPDATE' && f.skipDockerfileUpdate) return 'skipped_by_flag';
  if (phase === 'INFISICAL' && f.skipInfisical) return 'skipped_by_flag';
  return undefined;
}

/** The error message and details an activity failure carries (already masked by the activity). */
function failureInfo(phase: Phase, err: unknown): { message: string; details: Record<string, unknown> } {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const details = (cause.details?.[0] ?? {}) as Record<string, unknown>;
    return { message: cause.message, details: { ...details, error_type: cause.type ?? 'Error' } };
  }
  if (cause instanceof TimeoutFailure) {
    // The last heartbeat carries the command's latest output line: the best clue to what hung.
    const last: unknown = cause.lastHeartbeatDetails;
    const tail = typeof last === 'string' && last ? `; last output: ${last}` : '';
    return {
      message: `${phase} timed out (${cause.timeoutType}): the worker may have died or the command hung${tail}`,
      details: { error_type: 'Timeout' },
    };
  }
  return {
    message: cause instanceof Error ? cause.message : String(cause),
    details: { error_type: 'Error' },
  };
}

export async function redeploy(input: RedeployInput): Promise<RedeployState> {
  const info = workflowInfo();
  const state = initState(input, { workflowId: info.workflowId, runId: info.runId }, now());
  const decisionTimeoutMs = input.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS;
  let decision: DecisionPayload | undefined;

  let published: string | undefined;
  const publish = (): void => {
    touch(state);
    setCurrentDetails(renderDetails(state));
    const label = state.status === 'completed' ? 'COMPLETED' : (state.current_phase ?? 'PENDING');
    // Upsert only when the value changes. Patched: histories recorded before upserted on every publish.
    if (label === published && patched('upsert-phase-on-change')) return;
    published = label;
    upsertSearchAttributes([{ key: REDEPLOY_PHASE, value: label }]);
  };
  const validate = (d: DecisionPayload): void => {
    const pending = state.pending_decision;
    if (!pending) throw new Error(`${state.run_id} is not waiting for a decision (status: ${state.status})`);
    if (!d || !['retry', 'skip', 'abort'].includes(d.action))
      throw new Error('action must be retry, skip or abort');
    if (d.phase !== pending.phase) throw new Error(`${pending.phase} is waiting, not ${String(d.phase)}`);
    // Two decisions in one activation (a signal and an update): the first wins, the second is refused.
    if (decision !== undefined)
      throw new Error(`a decision (${decision.action}) for ${pending.phase} is already being applied`);
    // Every later phase needs the worktree: there is nothing to go on with without it.
    if (d.action === 'skip' && d.phase === 'WORKTREE')
      throw new Error(
        'WORKTREE cannot be skipped: later phases need the worktree; fix it and retry, or abort',
      );
  };

  setHandler(progressQuery, () => state);
  setHandler(
    decideUpdate,
    (d) => {
      decision = d;
      return { accepted: true, phase: d.phase, action: d.action };
    },
    { validator: validate },
  );
  setHandler(decideSignal, (d) => {
    try {
      validate(d);
      decision = d;
    } catch (err) {
      log.warn('ignored decide signal', { error: String(err), payload: d });
    }
  });

  /** One activity call per phase, with a Web UI summary naming what it does. */
  const call = (phase: Phase, reattempt: boolean): Promise<PhaseOutcome> => {
    const id = input.runId;
    const versions = input.versions;
    const wt = state.worktree_path ?? '';
    const pins = Object.entries(versions)
      .map(([pkg, to]) => {
        const from = ((state.phases.WORKTREE['pins_found'] ?? {}) as Record<string, string>)[pkg];
        return `${pkg} ${from ? `${from} → ` : '→ '}${to}`;
      })
      .join(', ');
    const summary = (s: string) => ({ summary: `${phase} ${s}`.slice(0, 200) });
    switch (phase) {
      case 'SYNC':
        return acts.git.sync.executeWithOptions(summary('pull-all.sh'), [id]);
      case 'ENV_CHECK':
        return acts.quick.envCheck.executeWithOptions(summary('required variables'), [
          id,
          { skipInfisical: input.flags.skipInfisical },
        ]);
      case 'WORKTREE':
        return acts.git.worktree.executeWithOptions(summary(input.worktreeTicket), [
          id,
          { ticket: input.worktreeTicket, versions },
        ]);
      case 'PIN_UPDATE':
        return acts.quick.pinUpdate.executeWithOptions(summary(pins), [id, { worktreePath: wt, versions }]);
      case 'DEPLOY':
        return acts.long.deploy.executeWithOptions(
          summary(`deploy-runtime.sh${reattempt ? ' --force' : ''}`),
          [id, { worktreePath: wt, reattempt }],
        );
      case 'INFISICAL':
        return acts.seed.infisical.executeWithOptions(summary('seed secrets'), [id, { worktreePath: wt }]);
      case 'VERIFY':
        return acts.verify.verify.executeWithOptions(
          summary(
            Object.entries(versions)
              .map(([k, v]) => `${k}==${v}`)
              .join(', '),
          ),
          [id, { versions }],
        );
      case 'NOTIFY':
        return acts.notify.notify.executeWithOptions(summary('run outcome'), [
          id,
          { versions, phases: phaseStatuses(state), outcome: 'complete' },
        ]);
    }
  };

  const apply = (phase: Phase, outcome: PhaseOutcome): void => {
    const d = outcome.details;
    if (phase === 'WORKTREE' && typeof d['path'] === 'string') state.worktree_path = d['path'];
    if (phase === 'PIN_UPDATE') {
      const report = (d['pins_applied'] ?? {}) as Record<string, { to: string }>;
      state.pins_applied = Object.fromEntries(Object.entries(report).map(([k, v]) => [k, v.to]));
    }
    markPhase(state, phase, outcome.status ?? 'completed', now(), d);
  };

  /** Runs a phase until it completes, or an operator skips it; throws on abort, timeout or cancellation. */
  const runPhase = async (phase: Phase): Promise<void> => {
    // A phase recorded as started in an earlier run may have half-run: treat the first attempt as a re-attempt.
    let reattempt = ['failed', 'running', 'cancelled'].includes(state.phases[phase].status);
    for (;;) {
      markPhase(state, phase, 'running', now());
      state.status = 'running';
      publish();
      try {
        apply(phase, await call(phase, reattempt));
        publish();
        return;
      } catch (err) {
        if (isCancellation(err)) throw err;
        const { message, details } = failureInfo(phase, err);
        markPhase(state, phase, 'failed', now(), { error: message, ...details });
        // Date in workflow code is the SDK's deterministic workflow clock, not the host's.
        const deadline = new Date(Date.now() + decisionTimeoutMs).toISOString();
        state.status = 'waiting_for_decision';
        state.pending_decision = { phase, error: message, since: now(), deadline };
        publish();
        decision = undefined;
        const decided = await condition(() => decision !== undefined, decisionTimeoutMs);
        state.pending_decision = null;
        if (!decided || !decision) {
          state.status = 'failed';
          state.error = `${phase} failed and no decision came before ${deadline}: ${message}`;
          state.finished_at = now();
          publish();
          throw ApplicationFailure.create({
            type: 'DecisionTimeout',
            message: state.error,
            nonRetryable: true,
            details: [state],
          });
        }
        const d: DecisionPayload = decision;
        state.decisions.push({
          phase,
          action: d.action,
          by: d.by ?? 'unknown',
          at: now(),
          ...(d.reason ? { reason: d.reason } : {}),
        });
        if (d.action === 'abort') {
          state.status = 'aborted';
          state.error = `aborted by ${d.by ?? 'an operator'} at ${phase}: ${message}`;
          state.finished_at = now();
          publish();
          throw ApplicationFailure.create({
            type: 'RedeployAborted',
            message: state.error,
            nonRetryable: true,
            details: [state],
          });
        }
        if (d.action === 'skip') {
          markPhase(state, phase, 'skipped_by_operator', now(), { error: message, by: d.by ?? 'unknown' });
          state.status = 'running';
          publish();
          return;
        }
        reattempt = true; // retry: run this phase again; earlier phases stay as they are
      }
    }
  };

  try {
    // Flag skips are known now: mark them all at once, so a watcher sees the whole plan from the start.
    for (const phase of PHASES) {
      const skip = skipStatus(phase, input);
      if (skip && !isSettled(state.phases[phase].status)) markPhase(state, phase, skip, now());
    }
    publish();
    for (const phase of PHASES) {
      if (isSettled(state.phases[phase].status)) continue; // skipped by flag, or settled in an earlier run (resume)
      await runPhase(phase);
    }
    state.status = 'completed';
    state.current_phase = null;
    state.finished_at = now();
    publish();
    return state;
  } catch (err) {
    if (isCancellation(err) || err instanceof CancelledFailure) {
      const phase = state.current_phase;
      if (phase && state.phases[phase].status === 'running') markPhase(state, phase, 'cancelled', now());
      state.status = 'cancelled';
      state.pending_decision = null;
      state.finished_at = now();
      publish();
    }
    throw err;
  }
}
