import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
// @temporalio/client re-exports these from @temporalio/common: importing that too costs the CLI's start.
import {
  ApplicationFailure,
  WorkflowFailedError,
  WorkflowNotFoundError,
  defaultPayloadConverter,
  type WorkflowHandle,
} from '@temporalio/client';
import { parseRunState, runStateOrUndefined } from '../core/parse-state.js';
import { CliError } from '../core/errors.js';
import { isActive, type RedeployState } from '../core/state.js';
import { progressQuery } from '../core/messages.js';
import type { Config } from '../io/config.js';
import { prog } from '../io/invocation.js';
import { resultFromState, skillResultPath, writeSkillResult } from '../io/skill-result.js';
import { readStateFile, stateFilePath, writeStateFileIfNewer } from '../io/state-file.js';
import type { Live, Reporter } from './progress.js';

/** How often an attached CLI asks the workflow for its progress (cheap: a query is served from memory). */
export const POLL_MS = 300;

export type CloseStatus =
  'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELLED' | 'TERMINATED' | 'TIMED_OUT' | 'CONTINUED_AS_NEW' | string;

/** The run's state by query, parsed (RunStateError when the answer is not a redeploy state); undefined when unanswered. */
export async function queryState(handle: WorkflowHandle): Promise<RedeployState | undefined> {
  let raw: unknown;
  try {
    raw = await handle.query(progressQuery);
  } catch {
    return undefined;
  }
  return parseRunState(raw, `${handle.workflowId}'s progress query`);
}

/** The state of a closed run without a worker: its result, or the state an abort/timeout carries in its failure. */
export async function finalState(handle: WorkflowHandle, config: Config): Promise<RedeployState | undefined> {
  let result: unknown;
  try {
    result = await handle.result();
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      const carried = runStateOrUndefined(err.cause.details?.[0]);
      if (carried) return carried;
    }
  }
  if (result !== undefined) return parseRunState(result, `${handle.workflowId}'s result`);
  // Cancelled or terminated: the last mirrored state, if this machine mirrored it (and it is a run's).
  const file = await readStateFile(config.stateDir, handle.workflowId).catch(() => undefined);
  return runStateOrUndefined(file);
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

/** Exit code when the state dir cannot be written while the run is still active: it goes on, unfollowed. */
export const EXIT_NOT_MIRRORED = 74;

/**
 * The state file (or skill result) could not be written — disk full, quota, file size limit, read-only.
 * Says what the run really is and how to pick it up again; the temp file is already gone (writeFileAtomic).
 */
export class MirrorError extends CliError {
  constructor(state: RedeployState, file: string, cause: unknown) {
    const e = cause as NodeJS.ErrnoException;
    const why = e?.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '').split(',')[0]}` : String(cause);
    const active = isActive(state.status);
    const where = state.current_phase && active ? ` in ${state.current_phase}` : '';
    super(
      `redeploy: could not write ${file} (${why}); no temporary file was left.\n` +
        `The run ${state.run_id} is ${state.status}${where}` +
        (active ? ' and goes on without this CLI following it.\n' : '; that file does not say so yet.\n') +
        `Free space in ${path.dirname(file)}, then: ${prog()} status ${state.run_id} (writes the state file) · ${prog()} watch ${state.run_id} (re-attaches)`,
      // Ended: the run's own exit code (the run did what it did); still active: a code of its own.
      active ? EXIT_NOT_MIRRORED : exitCodeFor(state),
      { cause },
    );
  }
}

/** Mirrors a state into the legacy state file and, once the run has ended, the skill result. */
export async function mirrorState(
  config: Config,
  state: RedeployState,
  skillResult = !isActive(state.status),
) {
  let file = stateFilePath(config.stateDir, state.run_id);
  try {
    // The worker writes it too (io/mirror-sink.ts): whichever is later stays.
    await writeStateFileIfNewer(config.stateDir, state);
    file = skillResultPath(config.skillResultsDir);
    if (skillResult) await writeSkillResult(config.skillResultsDir, resultFromState(state));
  } catch (err) {
    throw new MirrorError(state, file, err);
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
  // The run's own result once it completed: its final state (the workflow returns the state it publishes).
  let result: RedeployState | undefined;
  const ended = handle.result().then(
    (r) => {
      // Parsed, like every state read back; a result that is not a run state takes the query path.
      result = runStateOrUndefined(r);
    },
    () => undefined,
  );
  for (;;) {
    if (opts.signal?.aborted) return { state: last, detached: true, exitCode: 130 };
    // With the result in, no query (after the end, a replay of the whole run on a worker) and no describe:
    // the CLI exits as soon as the result is in (issue 23).
    let state = result ?? (await queryState(handle));
    // A terminated or timed-out run cannot record its end; a query replays it to its last state, which
    // still says "running". So the execution status is checked every 2 s (and whenever the query fails).
    if (!result && (!state || Date.now() - describedAt > 2000)) {
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
    // Right after a decision the run may still show the wait it answered (it clears it once its failure
    // alert is sent, which can take a while when the server is slow): that wait is not a new one.
    const answered = !!opts.decided && state?.pending_decision?.since === opts.decided;
    const ending = !!state && !isActive(state.status) && !answered;
    if (state && (state.version !== lastVersion || opts.live)) {
      // A new final state is mirrored once, state file and skill result together (it was written twice).
      if (state.version !== lastVersion || ending) await mirrorState(config, state, ending);
      lastVersion = state.version;
      last = state;
      reporter.update(state, live);
    } else if (state && ending) await mirrorState(config, state);
    if (state && ending) return { state, detached: false, exitCode: exitCodeFor(state) };
    // The end of the run wakes us at once (result() long-polls), instead of up to one poll interval later.
    await Promise.race([
      sleep(POLL_MS, undefined, opts.signal ? { signal: opts.signal } : {}).catch(() => undefined),
      ended,
    ]);
  }
}
