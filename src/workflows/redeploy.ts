import {
  ActivityCancellationType,
  ActivityFailure,
  ChildWorkflowCancellationType,
  ApplicationFailure,
  CancelledFailure,
  TimeoutFailure,
  condition,
  isCancellation,
  log,
  ParentClosePolicy,
  patched,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  sleep,
  startChild,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
// Not re-exported by @temporalio/workflow; @temporalio/common is deterministic and bundles into workflows.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import type { FailureNotice, PhaseOutcome, RedeployActivities } from '../activities/index.js';
import { displayPins, exactVersion, originalSpecifier } from '../core/pins.js';
import { TARGET_LOCK_WORKFLOW, busyMessage, targetLockId, type QueueEntry } from '../core/target-lock.js';
import type { Versions } from '../core/versions.js';
import { PHASES, isSettled, type Phase, type PhaseStatus } from '../core/phases.js';
import {
  formatPins,
  initState,
  markPhase,
  waitingLine,
  phaseStatuses,
  renderDetails,
  touch,
  type LockHolder,
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
import {
  PROGRESS_QUERY_DESCRIPTION,
  decidePayload,
  decideSignalDescription,
  decideUpdateDescription,
} from '../core/decide-help.js';

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

/** Who holds a target: one quick describe call; a waiting run asks again on its next try. */
const LOCK_QUERY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};
/** Waiting for a turn on the target: at most TARGET_TURN_MAX_MS per call, heartbeating (a dead worker shows). */
const TARGET_WAIT: ActivityOptions = {
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

const acts = {
  lock: proxyActivities<RedeployActivities>(LOCK_QUERY),
  wait: proxyActivities<RedeployActivities>(TARGET_WAIT),
  quick: proxyActivities<RedeployActivities>(QUICK),
  git: proxyActivities<RedeployActivities>(GIT),
  long: proxyActivities<RedeployActivities>(LONG),
  seed: proxyActivities<RedeployActivities>(SEED),
  verify: proxyActivities<RedeployActivities>(VERIFY),
  notify: proxyActivities<RedeployActivities>(NOTIFY),
};

const DEFAULT_DECISION_TIMEOUT_MS = 24 * 3_600_000;
const DEFAULT_TARGET_WAIT_TIMEOUT_MS = 2 * 3_600_000;
/**
 * A waiting run tries the target again after 2 s, doubling to 15 s (a hand-over within 15 s), and asks
 * who holds it on the first refusal and every 4th after. A try costs 10 history events, 16 with the
 * look-up: the 12 h maximum wait (config) stays near 40,000, under Temporal's 51,200-event limit.
 */
const TARGET_RETRY_MIN_MS = 2_000;
const TARGET_RETRY_MAX_MS = 15_000;
const TARGET_LOOKUP_EVERY = 4;
/** One waiting activity covers up to a minute: a bounded history (3 events a minute) while queued. */
const TARGET_TURN_MAX_MS = 60_000;

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
function failureInfo(label: string, err: unknown): { message: string; details: Record<string, unknown> } {
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
      message: `${label} timed out (${cause.timeoutType}): the worker may have died or the command hung${tail}`,
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
  // Only when given: activity inputs of runs without a lane stay as they were recorded.
  const lane = input.flags.lane ? { lane: input.flags.lane } : {};
  const state = initState(input, { workflowId: info.workflowId, runId: info.runId }, now());
  const decisionTimeoutMs = input.decisionTimeoutMs ?? DEFAULT_DECISION_TIMEOUT_MS;
  let decision: DecisionPayload | undefined;

  let published: string | undefined;
  const publish = (): void => {
    touch(state);
    setCurrentDetails(renderDetails(state));
    const label =
      state.status === 'completed'
        ? 'COMPLETED'
        : state.status === 'waiting_for_target'
          ? 'WAITING_FOR_TARGET' // `RedeployPhase = "WAITING_FOR_TARGET"` lists the queued runs
          : (state.current_phase ?? 'PENDING');
    // Upsert only when the value changes. Patched: histories recorded before upserted on every publish.
    if (label === published && patched('upsert-phase-on-change')) return;
    published = label;
    upsertSearchAttributes([{ key: REDEPLOY_PHASE, value: label }]);
  };
  /** A refused decision: its message is all the Web UI's result panel and the CLI show. */
  const refuse: (message: string) => never = (message) => {
    const err = ApplicationFailure.create({ type: 'InvalidDecision', message, nonRetryable: true });
    err.stack = ''; // the UI prints a failure's stack trace under its message; here it only hides it
    throw err;
  };
  const validate = (d: DecisionPayload): void => {
    const pending = state.pending_decision;
    if (!pending) refuse(`${state.run_id} is not waiting for a decision (status: ${state.status})`);
    const phase = pending.phase;
    const example = decidePayload(phase);
    if (!d || typeof d !== 'object' || Array.isArray(d))
      refuse(`the data must be one JSON object, e.g. ${example}`);
    if (!['retry', 'skip', 'abort'].includes(d.action))
      refuse(
        `action must be retry, skip or abort (got ${JSON.stringify(d.action) ?? 'none'}), e.g. ${example}`,
      );
    if (d.phase !== phase)
      refuse(
        `${phase} is waiting, not ${typeof d.phase === 'string' ? d.phase : 'no phase'}: send e.g. ${example}`,
      );
    // Two decisions in one activation (a signal and an update): the first wins, the second is refused.
    if (decision !== undefined)
      refuse(`a decision (${decision.action}) for ${phase} is already being applied`);
    // Every later phase needs the worktree: there is nothing to go on with without it.
    if (d.action === 'skip' && d.phase === 'WORKTREE')
      refuse('WORKTREE cannot be skipped: later phases need the worktree; fix it and retry, or abort');
  };

  setHandler(progressQuery, () => state, { description: PROGRESS_QUERY_DESCRIPTION });
  /**
   * Registers the decision handlers with descriptions naming the waiting phase (the Web UI shows them in
   * its Update and Signal dialogs). Re-registering only changes what the metadata query answers: it
   * adds no command to the history, so replay is unaffected.
   */
  const describeHandlers = (waiting: Phase | null): void => {
    setHandler(
      decideUpdate,
      (d) => {
        decision = d;
        return { accepted: true, phase: d.phase, action: d.action };
      },
      { validator: validate, description: decideUpdateDescription(waiting) },
    );
    setHandler(
      decideSignal,
      (d) => {
        try {
          validate(d);
          decision = d;
        } catch (err) {
          log.warn('ignored decide signal', { error: String(err), payload: d });
        }
      },
      { description: decideSignalDescription(waiting) },
    );
  };
  describeHandlers(null);

  /** What DEPLOY must find in the Dockerfile: the requested pins, or origin's when no pin was written. */
  const expectedPins = (): Record<string, string> | 'unchanged' =>
    state.phases.PIN_UPDATE.status === 'completed' ? { ...input.versions } : 'unchanged';
  const deployArgs = (reattempt: boolean, expectPins: Record<string, string> | 'unchanged') => ({
    ticket: input.worktreeTicket,
    ref: state.worktree_ref,
    reattempt,
    baseCommit: state.provenance.base_commit,
    dockerfileSha256: expectPins === 'unchanged' ? null : state.provenance.dockerfile_sha256,
    expectPins,
    ...lane,
  });

  /** One activity call per phase, with a Web UI summary naming what it does. */
  const call = (phase: Phase, reattempt: boolean): Promise<PhaseOutcome> => {
    const id = input.runId;
    const versions = input.versions;
    const ticket = input.worktreeTicket;
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
          { skipInfisical: input.flags.skipInfisical, ticket, ref: state.worktree_ref, ...lane },
        ]);
      case 'WORKTREE':
        return acts.git.worktree.executeWithOptions(summary(`${ticket} from origin/${state.worktree_ref}`), [
          id,
          { ticket, versions, ref: state.worktree_ref },
        ]);
      case 'PIN_UPDATE':
        return acts.quick.pinUpdate.executeWithOptions(summary(pins), [
          id,
          { ticket, versions, ref: state.worktree_ref, baseCommit: state.provenance.base_commit },
        ]);
      case 'DEPLOY':
        return acts.long.deploy.executeWithOptions(
          summary(`deploy-runtime.sh${reattempt ? ' --force' : ''}`),
          [id, { ...deployArgs(reattempt, expectedPins()), versions }],
        );
      case 'INFISICAL':
        return acts.seed.infisical.executeWithOptions(summary('seed secrets'), [
          id,
          { ticket, ref: state.worktree_ref, baseCommit: state.provenance.base_commit },
        ]);
      case 'VERIFY':
        return acts.verify.verify.executeWithOptions(
          summary(
            Object.entries(versions)
              .map(([k, v]) => `${k}==${v}`)
              .join(', '),
          ),
          [id, { versions, against: verifiedAgainst(), ticket, ...lane }],
        );
      case 'NOTIFY':
        return acts.notify.notify.executeWithOptions(summary('run outcome'), [
          id,
          {
            versions,
            phases: phaseStatuses(state),
            outcome: 'complete',
            provenance: state.provenance,
            ticket,
          },
        ]);
    }
  };
  const verifiedAgainst = () => ({
    ref: state.provenance.ref,
    commit: state.provenance.deployed_commit ?? state.provenance.base_commit,
    dockerfile_sha256: state.provenance.dockerfile_sha256,
  });

  /** Provenance fields an outcome carries (WORKTREE: base; PIN_UPDATE: Dockerfile; DEPLOY: what ran). */
  const recordProvenance = (d: Record<string, unknown>): void => {
    const p = state.provenance;
    const str = (k: string): string | undefined => (typeof d[k] === 'string' ? d[k] : undefined);
    p.base_commit = str('base_commit') ?? p.base_commit;
    p.origin_url = str('origin_url') ?? p.origin_url;
    p.dockerfile_sha256 = str('dockerfile_sha256') ?? p.dockerfile_sha256;
    p.deploy_script = str('deploy_script') ?? p.deploy_script;
    p.deployed_commit = str('deployed_commit') ?? p.deployed_commit;
  };

  const apply = (phase: Phase, outcome: PhaseOutcome): void => {
    const d = outcome.details;
    if (phase === 'WORKTREE' && typeof d['path'] === 'string') state.worktree_path = d['path'];
    if (phase === 'PIN_UPDATE') {
      const report = (d['pins_applied'] ?? {}) as Record<string, { to: string }>;
      state.pins_applied = Object.fromEntries(Object.entries(report).map(([k, v]) => [k, v.to]));
    }
    recordProvenance(d);
    markPhase(state, phase, outcome.status ?? 'completed', now(), d);
  };

  let notices = 0;
  /**
   * The message for a run that did not complete (Slack when active, like NOTIFY). Best effort: a message
   * that cannot be sent is logged and never changes the run's outcome.
   */
  const alert = async (
    kind: FailureNotice['kind'],
    phase: Phase | null,
    error: string,
    rolledBackTo?: Versions,
  ): Promise<void> => {
    // Patched: histories recorded before sent no failure messages.
    if (!patched('failure-notifications')) return;
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
      ticket: input.worktreeTicket,
      ...(rolledBackTo ? { rolledBackTo } : {}),
    };
    try {
      await acts.notify.notifyFailure.executeWithOptions(
        { summary: `NOTIFY ${kind}${phase ? ` ${phase}` : ''}` },
        [input.runId, notice],
      );
    } catch (err) {
      if (isCancellation(err)) throw err;
      log.warn('failure notification not sent', { kind, error: failureInfo('the message', err).message });
    }
  };

  const finish = (status: RedeployState['status'], error: string): void => {
    state.status = status;
    state.error = error;
    state.finished_at = now();
    publish();
  };
  /** The run's failure, after finish(): its message is the state's error. */
  const fail = (type: string): ApplicationFailure =>
    ApplicationFailure.create({ type, message: state.error ?? type, nonRetryable: true, details: [state] });

  /** One redeploy per target (core/target-lock.ts): waits for the holder, or refuses with --no-wait. */
  const acquireTarget = async (): Promise<void> => {
    // Without lockId (a start by hand): the CLI's ID for the default task queue name.
    const lockId = input.lockId ?? targetLockId(input.target ? `redeploy@${input.target}` : 'redeploy');
    const me: LockHolder = { run_id: input.runId, started_by: input.startedBy, started_at: now() };
    const targetName = input.target ?? 'the default target';
    const waitMs = input.targetWaitTimeoutMs ?? DEFAULT_TARGET_WAIT_TIMEOUT_MS;
    const deadline = Date.now() + waitMs;
    let delay = TARGET_RETRY_MIN_MS;
    let holder: LockHolder | null = null;
    // Patched: runs recorded before polled with a growing sleep, in no order. Now a waiting run queues
    // (its first refusal is its place) and an activity waits for the lock to close: served in arrival
    // order, within a round trip or two of the holder's close.
    const queued = patched('target-queue');
    let place: QueueEntry | undefined;
    let behindMe: QueueEntry[] = [];
    for (let refusals = 0; ; refusals++) {
      try {
        await startChild(TARGET_LOCK_WORKFLOW, {
          workflowId: lockId,
          // The queue behind this run rides in the lock's input, for the runs that wait on it to read.
          args: queued ? [me, behindMe] : [me],
          memo: { ...me },
          // The server terminates the lock when this run closes, however it closes (even `terminate`).
          parentClosePolicy: ParentClosePolicy.TERMINATE,
          // Not cancelled with this run: the lock must outlive the cancelled phase's process group, which
          // is stopped before this run closes (WAIT_CANCELLATION_COMPLETED); the close then releases it.
          cancellationType: ChildWorkflowCancellationType.ABANDON,
          staticSummary: `target lock: ${targetName}, for ${input.runId}`,
        });
        if (state.waiting_for) {
          state.waiting_for = null;
          state.status = 'running';
          publish();
        }
        return;
      } catch (err) {
        if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
      }
      // Queued, every refusal follows a handover: the holder is new, so it is looked up each time.
      if (holder === null || queued || refusals % TARGET_LOOKUP_EVERY === 0) {
        try {
          holder = await acts.lock.targetLockHolder.executeWithOptions(
            { summary: `who holds ${targetName}` },
            [lockId],
          );
        } catch (err) {
          if (isCancellation(err)) throw err;
          // The target is held all the same (the start was refused); only its holder's name is unknown.
          const why = failureInfo('the look-up', err).message;
          holder = {
            run_id: `another run (not readable: ${why})`,
            started_by: 'unknown',
            started_at: 'unknown',
          };
        }
        if (holder === null && Date.now() < deadline) {
          await sleep(TARGET_RETRY_MIN_MS); // released between our try and the look-up: try again soon
          continue;
        }
      }
      holder ??= { run_id: 'another run', started_by: 'unknown', started_at: 'unknown' };
      if (input.flags.noWait) {
        finish('failed', busyMessage(input.target, holder));
        throw fail('TargetBusy');
      }
      if (Date.now() >= deadline) {
        finish('failed', `gave up after ${Math.round(waitMs / 60_000)} min ${waitingLine(holder)}`);
        await alert('target_wait_timeout', null, state.error ?? '');
        throw fail('TargetWaitTimeout');
      }
      if (state.status !== 'waiting_for_target' || state.waiting_for?.run_id !== holder.run_id) {
        state.status = 'waiting_for_target';
        state.waiting_for = holder;
        publish();
      }
      if (queued) {
        place ??= { run_id: input.runId, queued_at: now() };
        try {
          const turn = await acts.wait.awaitTargetTurn.executeWithOptions(
            { summary: `wait for ${targetName}` },
            [lockId, place, Math.max(1, Math.min(TARGET_TURN_MAX_MS, deadline - Date.now()))],
          );
          if (turn.go) behindMe = turn.queue;
          continue;
        } catch (err) {
          if (isCancellation(err)) throw err;
          // Cannot watch the lock (the server is unreachable, say): poll as before, order aside.
        }
      }
      await sleep(Math.max(1, Math.min(delay, deadline - Date.now())));
      delay = Math.min(delay * 2, TARGET_RETRY_MAX_MS);
    }
  };

  /**
   * --rollback-on-failure, after VERIFY failed for good: restore PIN_UPDATE's `from` pins, redeploy and
   * verify them (saga compensation). Ends the run (rolled_back, or failed when a step fails); returns
   * only when there is nothing to roll back, and the run then waits for a decision as usual.
   */
  const rollBack = async (reason: string): Promise<void> => {
    const report = (state.phases.PIN_UPDATE['pins_applied'] ?? {}) as Record<
      string,
      { from: string; from_raw?: string; to: string }
    >;
    const found = (state.phases.WORKTREE['pins_found'] ?? {}) as Record<string, string>;
    const foundRaw = (state.phases.WORKTREE['pins_found_raw'] ?? {}) as Record<string, string>;
    // The original specifiers' bytes (`''` when it was unpinned), never a display form parsed back.
    const previous: Versions = {};
    for (const [pkg, c] of Object.entries(report)) {
      const from = originalSpecifier(foundRaw[pkg], found[pkg], c);
      if (from !== undefined) previous[pkg] = from;
    }
    const started = now();
    if (state.phases.DEPLOY.status !== 'completed' || Object.keys(previous).length === 0) {
      state.rollback = {
        status: 'failed',
        to: {},
        reason,
        started_at: started,
        finished_at: started,
        error: 'nothing to roll back: DEPLOY did not complete, or PIN_UPDATE changed no pin (or was skipped)',
      };
      return;
    }
    state.rollback = {
      status: 'running',
      to: displayPins(previous),
      reason,
      started_at: started,
      finished_at: null,
      error: null,
    };
    // Marked before anything is undone: a resume after a half-done rollback runs both again.
    markPhase(state, 'PIN_UPDATE', 'rolled_back', now(), {
      pins_applied: report,
      rolled_back_to: displayPins(previous),
    });
    markPhase(state, 'DEPLOY', 'rolled_back', now());
    state.status = 'running';
    publish();
    const id = input.runId;
    const ticket = input.worktreeTicket;
    const exact = Object.fromEntries(
      Object.entries(previous).flatMap(([k, v]) => {
        const version = exactVersion(v);
        return version === undefined ? [] : [[k, version]];
      }),
    );
    let step: Phase = 'PIN_UPDATE';
    try {
      const restored = await acts.quick.pinUpdate.executeWithOptions(
        { summary: `ROLLBACK PIN_UPDATE ${formatPins(previous)}` },
        [id, { ticket, versions: {}, restore: previous }],
      );
      recordProvenance(restored.details);
      step = 'DEPLOY';
      const deployed = await acts.long.deploy.executeWithOptions(
        { summary: 'ROLLBACK DEPLOY deploy-runtime.sh --force' },
        // DEPLOY's preflight compares display forms (currentPins): give it the restored pins in that form.
        [id, deployArgs(true, displayPins(previous))],
      );
      recordProvenance(deployed.details);
      step = 'VERIFY';
      await acts.verify.verify.executeWithOptions({ summary: `ROLLBACK VERIFY ${formatPins(exact)}` }, [
        id,
        { versions: exact, against: verifiedAgainst(), ticket: input.worktreeTicket, ...lane },
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      const { message } = failureInfo(step, err);
      state.rollback = {
        ...state.rollback,
        status: 'failed',
        finished_at: now(),
        error: `${step}: ${message}`,
      };
      finish('failed', `VERIFY failed: ${reason}\nrollback failed at ${step}: ${message}`);
      await alert('rollback_failed', 'VERIFY', state.error ?? '');
      throw fail('RollbackFailed');
    }
    state.rollback = { ...state.rollback, status: 'completed', finished_at: now() };
    // Nothing this run applied is still applied (the skill result reads pins_applied); `rollback.to` says what runs.
    state.pins_applied = {};
    finish('rolled_back', `VERIFY failed: ${reason}\nrolled back to ${formatPins(previous)}`);
    await alert('rolled_back', 'VERIFY', reason, previous);
    throw fail('RolledBack');
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
        if (phase === 'VERIFY' && input.flags.rollbackOnFailure) await rollBack(message);
        // Date in workflow code is the SDK's deterministic workflow clock, not the host's.
        const deadline = new Date(Date.now() + decisionTimeoutMs).toISOString();
        state.status = 'waiting_for_decision';
        state.pending_decision = { phase, error: message, since: now(), deadline };
        publish();
        describeHandlers(phase);
        decision = undefined;
        // Sent while the run already accepts decisions: one arriving meanwhile is kept, not lost.
        await alert('failed', phase, message);
        const decided = await condition(() => decision !== undefined, decisionTimeoutMs);
        state.pending_decision = null;
        describeHandlers(null);
        if (!decided || !decision) {
          finish('failed', `${phase} failed and no decision came before ${deadline}: ${message}`);
          await alert('decision_timeout', phase, message);
          throw fail('DecisionTimeout');
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
          finish('aborted', `aborted by ${d.by ?? 'an operator'} at ${phase}: ${message}`);
          await alert('aborted', phase, state.error ?? message);
          throw fail('RedeployAborted');
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
    // VERIFY-only runs only read: they never queue behind (or block) a deploy of the same host.
    // Patched: histories recorded before took no lock.
    if (!input.flags.verifyOnly && patched('target-lock')) await acquireTarget();
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
    // A cancel while the final message was being sent: the outcome stands (it was already published).
    if ((isCancellation(err) || err instanceof CancelledFailure) && state.finished_at === null) {
      if (state.rollback?.status === 'running')
        state.rollback = { ...state.rollback, status: 'failed', finished_at: now(), error: 'cancelled' };
      const phase = state.current_phase;
      if (phase && state.phases[phase].status === 'running') markPhase(state, phase, 'cancelled', now());
      state.status = 'cancelled';
      state.pending_decision = null;
      state.waiting_for = null;
      state.finished_at = now();
      publish();
    }
    throw err;
  }
}
