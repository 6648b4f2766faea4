import { condition } from '@temporalio/workflow';
import type { LockHolder } from '../core/state.js';
import type { QueueEntry } from '../core/target-lock.js';

/**
 * The target lock itself: it does nothing but exist while its parent redeploy runs (see
 * core/target-lock.ts). The holder is its argument and memo, for the runs that wait to read; the queue it
 * inherited is its second argument, and waiting runs join with the `queued` signal. Neither needs a
 * handler: both are read from this workflow's history once it closed (activities/target-lock.ts).
 * Workflow type name `targetLock` is public API like the activity names.
 */
export async function targetLock(_holder: LockHolder, _queue: QueueEntry[] = []): Promise<void> {
  // Never completes on its own: the parent's close terminates it. Not to be terminated by hand: that
  // frees the target under a live run; stop the run instead (`redeploy abort` / `cancel`).
  await condition(() => false);
}
