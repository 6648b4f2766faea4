import fs from 'node:fs/promises';
import path from 'node:path';
import { legacyStateSchema, formatIssues, type LegacyState } from '../core/schemas.js';
import type { RedeployState } from '../core/state.js';
import { writeFileAtomic } from './atomic.js';

/**
 * The legacy state file `<state dir>/<run_id>.json`, mirrored from the workflow's progress query.
 * Written atomically (temp file in the same directory, fsync, rename), file 0600 in a 0700 directory:
 * a reader or a kill -9 sees the previous complete file or the next, never half of one.
 */
export function stateFilePath(stateDir: string, runId: string): string {
  return path.join(stateDir, `${runId}.json`);
}

export async function writeStateFile(stateDir: string, state: RedeployState): Promise<string> {
  await fs.mkdir(stateDir, { recursive: true, mode: 0o700 });
  // An existing directory (e.g. made by the old skill) is tightened too: state files carry run details.
  await fs.chmod(stateDir, 0o700).catch(() => undefined);
  const file = stateFilePath(stateDir, state.run_id);
  await writeFileAtomic(file, `${JSON.stringify(state, null, 2)}\n`, 0o600);
  return file;
}

export class StateFileError extends Error {
  constructor(
    readonly file: string,
    problems: string[],
  ) {
    super(`${file} is not a valid redeploy state file:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'StateFileError';
  }
}

/** Reads a state file (a mirror, or one written by the old skill). `undefined` when there is none. */
export async function readStateFile(stateDir: string, runId: string): Promise<LegacyState | undefined> {
  const file = stateFilePath(stateDir, runId);
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new StateFileError(file, [`not JSON (${(err as Error).message})`]);
  }
  const parsed = legacyStateSchema.safeParse(raw);
  if (!parsed.success) throw new StateFileError(file, formatIssues(parsed.error));
  if (parsed.data.run_id !== runId)
    throw new StateFileError(file, [`run_id is ${parsed.data.run_id}, expected ${runId}`]);
  return parsed.data;
}
