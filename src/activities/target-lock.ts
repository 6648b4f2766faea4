import { Context } from '@temporalio/activity';
import { WorkflowNotFoundError, type Client } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { loadConfig } from '../io/config.js';
import { connectClient } from '../io/temporal.js';
import { describeTargetLock } from '../io/target-lock.js';
import { orderQueue, type QueueEntry, type TargetTurn } from '../core/target-lock.js';
import { queuedSignal } from '../core/messages.js';
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

/** A free target the run ahead does not take within this long is taken anyway (it may be stuck). */
const AHEAD_GRACE_MS = 10_000;
const CHECK_MS = 100;

type Json = Parameters<typeof defaultPayloadConverter.fromPayload>[0];
const decode = (p: unknown): unknown => defaultPayloadConverter.fromPayload(p as Json);

function isEntry(x: unknown): x is QueueEntry {
  const e = x as Partial<QueueEntry> | null;
  return typeof e?.run_id === 'string' && typeof e.queued_at === 'string';
}

/** The queue a closed lock ends with: what its input inherited, then the runs that signalled it. */
async function queueOf(client: Client, lockId: string, runId: string): Promise<QueueEntry[]> {
  const history = await client.workflow.getHandle(lockId, runId).fetchHistory();
  const entries: unknown[] = [];
  for (const e of history.events ?? []) {
    const started = e.workflowExecutionStartedEventAttributes;
    if (started) {
      const inherited = started.input?.payloads?.[1];
      if (inherited) entries.push(...((decode(inherited) as unknown[]) ?? []));
    }
    const signal = e.workflowExecutionSignaledEventAttributes;
    if (signal?.signalName === queuedSignal.name && signal.input?.payloads?.[0])
      entries.push(decode(signal.input.payloads[0]));
  }
  return orderQueue(entries.filter(isEntry));
}

async function isOpen(client: Client, workflowId: string): Promise<boolean> {
  try {
    return (await client.workflow.getHandle(workflowId).describe()).status.name === 'RUNNING';
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) return false;
    throw err;
  }
}

/**
 * Waits (up to `maxWaitMs`) until it is this run's turn on the target: joins the queue of the lock held
 * now, waits for that lock to close (a long poll: the server answers the moment it closes), then looks at
 * the queue it closed with. The first run still open goes; the others wait for its lock. Taking the lock
 * stays the workflow's own `startChild`: this only says when to try, so exclusion never rests on it.
 */
export function makeAwaitTargetTurn(deps: ActivityDeps) {
  return async function awaitTargetTurn(
    lockId: string,
    me: QueueEntry,
    maxWaitMs: number,
  ): Promise<TargetTurn> {
    const ctx = Context.current();
    const client = await connectClient(deps.config ?? loadConfig());
    const beat = setInterval(() => ctx.heartbeat(), 5_000);
    const deadline = Date.now() + maxWaitMs;
    let joined: string | undefined;
    let freeSince: number | undefined;
    try {
      while (Date.now() < deadline) {
        let lock;
        try {
          lock = await client.workflow.getHandle(lockId).describe();
        } catch (err) {
          if (err instanceof WorkflowNotFoundError) return { go: true, queue: [] };
          throw err;
        }
        if (lock.status.name === 'RUNNING') {
          freeSince = undefined;
          const held = client.workflow.getHandle(lockId, lock.runId);
          if (joined !== lock.runId) {
            // Fails when the lock closed in between: the next round reads its queue instead.
            await held.signal(queuedSignal, me).catch(() => undefined);
            joined = lock.runId;
          }
          const left = deadline - Date.now();
          await Promise.race([
            held.result().catch(() => undefined), // a terminated lock "fails": closed all the same
            ctx.sleep(Math.max(1, left)),
            ctx.cancelled,
          ]);
          continue;
        }
        const queue = (await queueOf(client, lockId, lock.runId)).filter((e) => e.run_id !== me.run_id);
        const ahead = orderQueue([...queue, me]).findIndex((e) => e.run_id === me.run_id);
        const closed = new Set<string>();
        let first: QueueEntry | undefined;
        for (const e of queue.slice(0, ahead)) {
          if (await isOpen(client, e.run_id)) {
            first = e;
            break;
          }
          closed.add(e.run_id);
        }
        freeSince ??= Date.now();
        if (!first || Date.now() - freeSince > AHEAD_GRACE_MS) {
          return { go: true, queue: queue.filter((e) => !closed.has(e.run_id)) };
        }
        await Promise.race([ctx.sleep(CHECK_MS), ctx.cancelled]);
      }
      return { go: false };
    } finally {
      clearInterval(beat);
      await client.connection.close();
    }
  };
}
