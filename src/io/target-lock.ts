import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import type { LockHolder } from '../core/state.js';

/** The run holding a target lock (from the lock workflow's memo), or null when the target is free. */
export async function describeTargetLock(client: Client, lockId: string): Promise<LockHolder | null> {
  try {
    const d = await client.workflow.getHandle(lockId).describe();
    if (d.status.name !== 'RUNNING') return null;
    const memo = (d.memo ?? {}) as Partial<LockHolder>;
    return {
      run_id: String(memo.run_id ?? d.parentExecution?.workflowId ?? 'an unknown run'),
      started_by: String(memo.started_by ?? 'unknown'),
      started_at: String(memo.started_at ?? d.startTime.toISOString()),
    };
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return null;
    throw err;
  }
}
