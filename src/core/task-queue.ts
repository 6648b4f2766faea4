/**
 * The task queue a run lives on: one per runtime host, so `--target host-a` routes to the worker
 * started with `redeploy worker --target host-a`. Pure, so the workflow derives the same name.
 * `base` is REDEPLOY_TASK_QUEUE (default `redeploy`).
 */
/** A runtime host name as `--target` takes it: it becomes part of a task queue name. */
export const TARGET_RE = /^[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;

export function taskQueueFor(base: string, target: string | undefined | null): string {
  return target ? `${base}@${target}` : base;
}

/** The `--target` a task queue name was built from, if any (the inverse of taskQueueFor). */
export function targetOf(taskQueue: string): string | undefined {
  return taskQueue.includes('@') ? taskQueue.split('@')[1] : undefined;
}

/** The task queue when REDEPLOY_TASK_QUEUE is unset (a run started by hand, without lockId, locks this one's). */
export const DEFAULT_TASK_QUEUE = 'redeploy';
