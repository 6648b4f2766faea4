import {
  ChildWorkflowCancellationType,
  ParentClosePolicy,
  condition,
  isCancellation,
  patched,
  setHandler,
  sleep,
  startChild,
  type ChildWorkflowHandle,
} from '@temporalio/workflow';
// Not re-exported by @temporalio/workflow; @temporalio/common is deterministic and bundles into workflows.
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/common';
import { targetTaken, targetWaitTimedOut, finish, waitForTarget } from '../core/run.js';
import type { LockHolder, RedeployInput, RedeployState } from '../core/state.js';
import { busyMessage, targetLockId, type QueueEntry } from '../core/target-lock.js';
import { TARGET_WAIT_TIMEOUT_MS } from '../core/defaults.js';
import { DEFAULT_TASK_QUEUE, taskQueueFor } from '../core/task-queue.js';
import { phaseFailure } from './failure.js';
import { acts } from './options.js';
import { releaseSignal } from '../core/messages.js';

/**
 * The target lock itself: it does nothing but exist while its parent redeploy runs (see
 * core/target-lock.ts). The holder is its argument and memo, for the runs that wait to read; the queue it
 * inherited is its second argument, and waiting runs join with the `queued` signal. Neither needs a
 * handler: both are read from this workflow's history once it closed (activities/target-lock.ts).
 * Workflow type name `targetLock` is public API like the activity names.
 */
export async function targetLock(_holder: LockHolder, _queue: QueueEntry[] = []): Promise<void> {
  // Completes when its run releases it (the run is done with the target), else the run's close
  // terminates it. Not to be terminated by hand: that frees the target under a live run; stop the run
  // instead (`redeploy abort` / `cancel`).
  let released = false;
  setHandler(releaseSignal, () => {
    released = true;
  });
  await condition(() => released);
}

export type TargetLockHandle = ChildWorkflowHandle<typeof targetLock>;

/**
 * The run is done with its target (every phase and message is behind it): the lock completes before the
 * run does. Runs recorded before this existed closed without it (patched: their replay is unchanged);
 * a cancelled or terminated run still leaves it to the parent-close policy.
 */
export async function releaseTarget(lock: TargetLockHandle | undefined): Promise<void> {
  if (!lock || !patched('release-target-lock')) return;
  try {
    await lock.signal(releaseSignal);
    // Bounded: a lock on a worker without the release handler (a rolling upgrade) must not hold a
    // finished run open; the parent-close policy ends it then.
    await Promise.race([lock.result(), sleep(RELEASE_WAIT_MS)]);
  } catch (err) {
    if (isCancellation(err)) throw err;
    // Terminated by hand, say: the parent-close policy has nothing left to do either.
  }
}

/** How long a finished run waits for its lock to confirm the release. */
const RELEASE_WAIT_MS = 60_000;
/** A lock released between our try and the look-up: try again this soon. */
const RETRY_SOON_MS = 2_000;
/** One waiting activity covers up to a minute: a bounded history (3 events a minute) while queued. */
const TURN_MAX_MS = 60_000;
/** When the lock cannot be watched (the server unreachable, say): poll, backing off to this. */
const POLL_MAX_MS = 15_000;

/** Why a run ended before its first phase: the target stayed busy. `type` is the failure's type. */
export class TargetUnavailable extends Error {
  constructor(readonly type: 'TargetBusy' | 'TargetWaitTimeout') {
    super(type);
  }
}

/**
 * One redeploy per target: takes the lock, waiting in arrival order for the run that holds it. A waiting
 * run queues (its first refusal is its place) and an activity waits for the holder's lock to close, so it
 * is served within a round trip or two of the holder's close. Throws TargetUnavailable with the state
 * finished (`--no-wait`, or the wait timed out); `publish` shows each change of whom it waits for.
 */
export async function acquireTarget(
  input: RedeployInput,
  state: RedeployState,
  now: () => string,
  publish: () => void,
): Promise<TargetLockHandle> {
  // Without lockId (a start by hand): the ID for the default task queue name.
  const lockId = input.lockId ?? targetLockId(taskQueueFor(DEFAULT_TASK_QUEUE, input.target));
  const me: LockHolder = { run_id: input.runId, started_by: input.startedBy, started_at: now() };
  const targetName = input.target ?? 'the default target';
  const waitMs = input.targetWaitTimeoutMs ?? TARGET_WAIT_TIMEOUT_MS;
  const deadline = Date.now() + waitMs;
  let place: QueueEntry | undefined;
  let behindMe: QueueEntry[] = [];
  let delay = RETRY_SOON_MS;
  for (;;) {
    try {
      const lock = await startChild(targetLock, {
        workflowId: lockId,
        // The queue behind this run rides in the lock's input, for the runs that wait on it to read.
        args: [me, behindMe],
        memo: { ...me },
        // The server terminates the lock when this run closes, however it closes (even `terminate`).
        parentClosePolicy: ParentClosePolicy.TERMINATE,
        // Not cancelled with this run: the lock must outlive the cancelled phase's process group, which
        // is stopped before this run closes (WAIT_CANCELLATION_COMPLETED); the close then releases it.
        cancellationType: ChildWorkflowCancellationType.ABANDON,
        staticSummary: `target lock: ${targetName}, for ${input.runId}`,
      });
      if (targetTaken(state)) publish();
      return lock;
    } catch (err) {
      if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
    }
    // Every refusal follows a handover: the holder is new, so it is looked up each time.
    let holder: LockHolder | null;
    try {
      holder = await acts.lock.targetLockHolder.executeWithOptions({ summary: `who holds ${targetName}` }, [
        lockId,
      ]);
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The target is held all the same (the start was refused); only its holder's name is unknown.
      const why = phaseFailure('the look-up', err).message;
      holder = { run_id: `another run (not readable: ${why})`, started_by: 'unknown', started_at: 'unknown' };
    }
    if (holder === null && Date.now() < deadline) {
      await sleep(RETRY_SOON_MS);
      continue;
    }
    holder ??= { run_id: 'another run', started_by: 'unknown', started_at: 'unknown' };
    if (input.flags.noWait) {
      finish(state, 'failed', busyMessage(input.target, holder), now());
      throw new TargetUnavailable('TargetBusy');
    }
    if (Date.now() >= deadline) {
      targetWaitTimedOut(state, holder, waitMs, now());
      throw new TargetUnavailable('TargetWaitTimeout');
    }
    if (waitForTarget(state, holder)) publish();
    place ??= { run_id: input.runId, queued_at: now() };
    try {
      const turn = await acts.wait.awaitTargetTurn.executeWithOptions({ summary: `wait for ${targetName}` }, [
        lockId,
        place,
        Math.max(1, Math.min(TURN_MAX_MS, deadline - Date.now())),
      ]);
      if (turn.go) behindMe = turn.queue;
      continue;
    } catch (err) {
      if (isCancellation(err)) throw err;
      // Cannot watch the lock (the server is unreachable, say): poll, order aside.
    }
    await sleep(Math.max(1, Math.min(delay, deadline - Date.now())));
    delay = Math.min(delay * 2, POLL_MAX_MS);
  }
}
