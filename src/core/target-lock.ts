import type { LockHolder } from './state.js';

/**
 * One redeploy per target. The lock is a child workflow with a fixed ID per task queue (= per runtime
 * host): Temporal refuses a second running workflow with that ID, so at most one run holds it. The child
 * is started with ParentClosePolicy TERMINATE, so the server itself releases it when its run closes in any
 * way — completed, failed, cancelled, terminated, timed out — and no crash can leave the target locked.
 */
export const TARGET_LOCK_WORKFLOW = 'targetLock';

export function targetLockId(taskQueue: string): string {
  return `redeploy-target-lock:${taskQueue}`;
}

/** `--no-wait` found the target held: said by the CLI before starting, and by the workflow if it lost a race. */
export function busyMessage(target: string | undefined, holder: LockHolder): string {
  return (
    `${target ?? 'the default target'} is busy: ${holder.run_id} (started by ${holder.started_by} at ${holder.started_at}) is redeploying it. ` +
    `Run again without --no-wait to wait for it, or stop it: redeploy cancel ${holder.run_id}`
  );
}
