import type { LockHolder } from './state.js';

/**
 * One redeploy per target. The lock is a child workflow with a fixed ID per task queue (= per runtime
 * host): Temporal refuses a second running workflow with that ID, so at most one run holds it. The child
 * is started with ParentClosePolicy TERMINATE, so the server itself releases it when its run closes in any
 * way — completed, failed, cancelled, terminated, timed out — and no crash can leave the target locked.
 */
export function targetLockId(taskQueue: string): string {
  return `redeploy-target-lock:${taskQueue}`;
}

/** `--no-wait` found the target held: said by the CLI before starting, and by the workflow if it lost a race. */
export function busyMessage(target: string | undefined, holder: LockHolder, prog = 'redeploy'): string {
  return (
    `${target ?? 'the default target'} is busy: ${holder.run_id} (started by ${holder.started_by} at ${holder.started_at}) is redeploying it. ` +
    `Run again without --no-wait to wait for it, or stop it: ${prog} cancel ${holder.run_id}`
  );
}

/**
 * A run queued for a target: served in `queued_at` order (its first refusal, in workflow time). The
 * queue lives in the lock workflows' histories: each lock's input carries the queue it inherited, and
 * waiting runs add themselves with the `queued` signal (workflows/messages.ts).
 */
export interface QueueEntry {
  run_id: string;
  queued_at: string;
}

/** What the waiting activity found: the target is this run's (with the queue behind it), or not yet. */
export type TargetTurn = { go: true; queue: QueueEntry[] } | { go: false };

/** Arrival order; the run id breaks a tie. One entry per run (the earliest). */
export function orderQueue(entries: QueueEntry[]): QueueEntry[] {
  const first = new Map<string, QueueEntry>();
  for (const e of entries) {
    const seen = first.get(e.run_id);
    if (!seen || Date.parse(e.queued_at) < Date.parse(seen.queued_at)) first.set(e.run_id, e);
  }
  return [...first.values()].sort(
    (a, b) => Date.parse(a.queued_at) - Date.parse(b.queued_at) || a.run_id.localeCompare(b.run_id),
  );
}
