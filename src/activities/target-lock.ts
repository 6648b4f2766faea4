import { loadConfig } from '../io/config.js';
import { connectClient } from '../io/temporal.js';
import { describeTargetLock } from '../io/target-lock.js';
import type { LockHolder } from '../core/state.js';
import type { ActivityDeps } from './context.js';

/**
 * Who holds a target lock, for the run waiting on it (workflow code cannot describe another workflow).
 * A client per call, closed after: it is called at most every few seconds while waiting, and a client
 * kept open would hold the worker process alive after shutdown.
 */
export function makeTargetLockHolder(deps: ActivityDeps) {
  return async function targetLockHolder(lockId: string): Promise<LockHolder | null> {
    const client = await connectClient(deps.config ?? loadConfig());
    try {
      return await describeTargetLock(client, lockId);
    } finally {
      await client.connection.close();
    }
  };
}
