import type { InjectedSinks } from '@temporalio/worker';
import { isActive, type RedeployState } from '../core/state.js';
import type { MirrorSinks } from '../core/mirror-sinks.js';
import type { Config } from './config.js';
import { writeStateFileIfNewer } from './state-file.js';
import { resultFromState, writeSkillResult } from './skill-result.js';

/**
 * Writes a run's state into the host's legacy state file on every change, and the skill result once the
 * run stopped (ended, or waiting for a decision), as the attached CLI did: the file follows the run
 * whoever changes it (CLI, Web UI, another machine). Same writers and rules as the CLI (atomic, 0600).
 */
export async function writeMirror(
  config: Config,
  state: RedeployState,
  skillContext?: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  // Never older over newer: an attached CLI writes the same file from its queries.
  if (!(await writeStateFileIfNewer(config.stateDir, state))) return;
  if (!isActive(state.status)) {
    // The skill that started the run reads the result under its own context id, carried in the input.
    const ctx = skillContext ? { ...env, CLAUDE_CONTEXT_ID: skillContext } : env;
    await writeSkillResult(config.skillResultsDir, resultFromState(state), ctx);
  }
}

export interface MirrorLog {
  warn(message: string, meta?: Record<string, unknown>): void;
}

/**
 * The worker's side of workflows/mirror.ts. Writes of one run are chained, so they land in order; a
 * failed write (disk full) is logged and the next change tries again: the run itself never waits on it.
 * Not called during replay (callDuringReplay false): after a worker restart the next change writes.
 */
export function mirrorSinks(config: Config, log: MirrorLog): InjectedSinks<MirrorSinks> {
  const chains = new Map<string, Promise<void>>();
  return {
    mirror: {
      publish: {
        callDuringReplay: false,
        fn(info, state, skillContext) {
          const key = info.workflowId;
          const next = (chains.get(key) ?? Promise.resolve())
            .then(() => writeMirror(config, state, skillContext))
            .catch((err: unknown) =>
              log.warn(`could not write the state file of ${state.run_id}`, {
                error: err instanceof Error ? err.message : String(err),
              }),
            )
            .finally(() => {
              if (chains.get(key) === next) chains.delete(key);
            });
          chains.set(key, next);
          // Not returned: the worker awaits a sink's promise before it completes the workflow task, and
          // a write (read, write, fsync, rename) on that path made every task slower.
          return undefined;
        },
      },
    },
  };
}
