/** The task queue when REDEPLOY_TASK_QUEUE is unset. */
export const DEFAULT_TASK_QUEUE = 'redeploy';

/** One task queue per runtime host: `--target host-a` routes to the worker started with the same target. */
export function taskQueueName(base: string | undefined, target: string | undefined | null): string {
  const queue = base ?? DEFAULT_TASK_QUEUE;
  return target ? `${queue}@${target}` : queue;
}
