import path from 'node:path';
import { parseState, RunStateError, type ParsedState } from '../core/parse-state.js';
import type { RedeployState } from '../core/state.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { writeOwnedFile } from './safe-fs.js';
import { readRegularFile, UnsafeFileError } from './safe-read.js';

/**
 * The legacy state file `<state dir>/<run_id>.json`, mirrored from the workflow's progress query.
 * Written atomically (temp file in the same directory, fsync, rename), file 0600 in a 0700 directory:
 * a reader or a kill -9 sees the previous complete file or the next, never half of one.
 */
export function stateFilePath(stateDir: string, runId: string): string {
  return path.join(stateDir, `${runId}.json`);
}

export async function writeStateFile(stateDir: string, state: RedeployState): Promise<string> {
  // Checked, never chmod-ed: a directory another user can write is refused (io/safe-fs.ts).
  const file = stateFilePath(stateDir, state.run_id);
  return writeOwnedFile(stateDir, file, `${JSON.stringify(state, null, 2)}\n`, 'REDEPLOY_STATE_DIR');
}

/**
 * writeStateFile, unless the file already holds a later version of the same execution: the worker (on
 * every change) and an attached CLI (from its queries) both write it, and the file never goes back.
 * Returns whether it wrote.
 */
export async function writeStateFileIfNewer(stateDir: string, state: RedeployState): Promise<boolean> {
  const onDisk = await readStateFile(stateDir, state.run_id).catch(() => undefined);
  if (
    onDisk?.['temporal_run_id'] === state.temporal_run_id &&
    typeof onDisk?.['version'] === 'number' &&
    onDisk['version'] > state.version
  )
    return false;
  await writeStateFile(stateDir, state);
  return true;
}

export class StateFileError extends CliError {
  constructor(
    readonly file: string,
    problems: string[],
  ) {
    super(
      `${file} is not a valid redeploy state file:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      EXIT_USAGE,
    );
  }
}

/** A full run's state is a few KB; a limit keeps a planted file from exhausting memory. */
export const STATE_FILE_MAX_BYTES = 1024 * 1024;

/**
 * Reads a state file (a mirror, or one written by the old skill) as untrusted input: a regular file
 * (no symlink, FIFO or device), bounded in size, and no part of its content is echoed in an error.
 * `undefined` when there is none.
 */
export async function readStateFile(stateDir: string, runId: string): Promise<ParsedState | undefined> {
  const file = stateFilePath(stateDir, runId);
  let text: string | undefined;
  try {
    text = await readRegularFile(file, { maxBytes: STATE_FILE_MAX_BYTES, noFollow: true });
  } catch (err) {
    if (err instanceof UnsafeFileError) throw new StateFileError(file, [err.message.slice(file.length + 2)]);
    throw err;
  }
  if (text === undefined) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text: never echoed (a state file may hold anything).
    throw new StateFileError(file, ['not JSON']);
  }
  let state: ParsedState;
  try {
    // Validated field by field, steering fields too (core/parse-state.ts): a forged one is refused here.
    state = parseState(raw, file);
  } catch (err) {
    if (err instanceof RunStateError) throw new StateFileError(file, err.problems);
    throw err;
  }
  if (state.run_id !== runId) throw new StateFileError(file, [`its run_id is not ${runId}`]);
  return state;
}
