import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowFailedError, WorkflowNotFoundError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import { legacyStateSchema } from '../core/schemas.js';
import { isActive, type RedeployState } from '../core/state.js';
import type { Config } from '../io/config.js';
import { resultFromState, writeSkillResult } from '../io/skill-result.js';
import { readStateFile, writeStateFile } from '../io/state-file.js';
import type { Live, Reporter } from './progress.js';

/** How often an attached CLI asks the workflow for its progress (cheap: a query is served from memory). */
export const POLL_MS = 300;

export type CloseStatus =
  'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | string;

export async function queryState(handle: WorkflowHandle): Promise<RedeployState | undefined> {
  try {
    return await handle.query<RedeployState>('progress');
  } catch {
    return undefined;
  }
}

/** The state of a closed run without a worker: its result, or the state an abort/timeout carries in its failure. */
export async function finalState(handle: WorkflowHandle, config: Config): Promise<RedeployState | undefined> {
  try {
    return (await handle.result()) as RedeployState;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const carried = err.cause.details?.[0];
      if (legacyStateSchema.safeParse(carried).success) return carried as RedeployState;
    }
  }
  // Cancelled or terminated: the last mirrored state, if this machine mirrored it.
  const file = await readStateFile(config.stateDir, handle.workflowId).catch(() => undefined);
  return file as RedeployState | undefined;
}

/** Latest output line of the running activity, from its heartbeat details (TTY view only). */
async function liveLine(handle: WorkflowHandle): Promise<Live> {
  try {
    const d = await handle.describe();
    const pending = d.raw.pendingActivities?.[0];
    const payload = pending?.heartbeatDetails?.payloads?.[0];
    if (!payload) return {};
    const value: unknown = defaultPayloadConverter.fromPayload(payload);
    return typeof value === 'string' && value ? { lastLine: value } : {};
  } catch {
    return {};
  }
}

export interface AttachResult {
  state: RedeployState | undefined;
  detached: boolean;
  exitCode: number;
}

export function exitCodeFor(state: RedeployState | undefined): number {
  return state?.status === 'completed' ? 0 : 1;
}

/**
 * Follows a run until it ends or waits for a decision, mirroring every new state version into the legacy
 * state file (the query is the only source; the file is its copy) and writing the skill result at the end.
 */
export async function attach(
  handle: WorkflowHandle,
  config: Config,
  reporter: Reporter,
  opts: { signal?: AbortSignal; live?: boolean; decided?: string } = {},
): Promise<AttachResult> {
  let last: RedeployState | undefined;
  let lastVersion = -1;
  let liveAt = 0;
  let describedAt = 0;
  let live: Live = {};
  const ended = handle.result().then(
    () => undefined,
    () => undefined,
  );
  for (;;) {
    if (opts.signal?.aborted) return { state: last, detached: true, exitCode: 130 };
    let state = await queryState(handle);
    // A terminated or timed-out run cannot record its end; a query replays it to its last state, which
    // still says "running". So the execution status is checked every 2 s (and whenever the query fails).
    if (!state || Date.now() - describedAt > 2000) {
      describedAt = Date.now();
      let status: CloseStatus = 'RUNNING';
      try {
        status = (await handle.describe()).status.name;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) throw err;
      }
      if (status !== 'RUNNING') {
        state = (await finalState(handle, config)) ?? state ?? last;
        if (state && isActive(state.status)) {
          state = {
            ...state,
            status: 'failed',
            error: `workflow ${status.toLowerCase()} outside redeploy`,
            version: state.version + 1,
          };
        }
      }
    }
    if (state && opts.live && state.status === 'running' && Date.now() - liveAt > 1000) {
      liveAt = Date.now();
      live = await liveLine(handle);
    }
    if (state && (state.version !== lastVersion || opts.live)) {
      if (state.version !== lastVersion) await writeStateFile(config.stateDir, state);
      lastVersion = state.version;
      last = state;
      reporter.update(state, live);
    }
    // Right after a decision the run may still show the wait it answered (it clears it once its failure
    // alert is sent, which can take a while when the server is slow): that wait is not a new one.
    const answered = !!opts.decided && state?.pending_decision?.since === opts.decided;
    if (state && !isActive(state.status) && !answered) {
      await writeSkillResult(config.skillResultsDir, resultFromState(state));
      return { state, detached: false, exitCode: exitCodeFor(state) };
    }
    // The end of the run wakes us at once (result() long-polls), instead of up to one poll interval later.
    await Promise.race([
      sleep(POLL_MS, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined),
      ended,
    ]);
  }
}
