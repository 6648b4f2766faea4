import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

/**
 * Finds the official Temporal CLI (dev server + Web UI), shared by tests, CI and users:
 * TEMPORAL_CLI → `temporal` on PATH → the cached build → `go install` into the cache.
 * v1.5.1 is pinned: later tags carry a `replace` directive and cannot be `go install`ed.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

export function cacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(base, 'redeploy', 'temporal-cli', TEMPORAL_CLI_VERSION);
}

export function executable(p: string): boolean {
  try {
    fs.accessSync(p, fs.constants.X_OK);
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env['PATH'] ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, name))) return path.join(dir, name);
  }
  return undefined;
}

export class TemporalCliMissing extends Error {
  constructor(detail: string, env: NodeJS.ProcessEnv = process.env) {
    super(
      `No Temporal CLI found (${detail}). Provide one of:\n` +
        `  1. TEMPORAL_CLI=/path/to/temporal\n` +
        `  2. a \`temporal\` binary on PATH (https://docs.temporal.io/cli)\n` +
        `  3. Go ≥ 1.23 on PATH, and redeploy builds ${MODULE}@${TEMPORAL_CLI_VERSION} into ${cacheDir(env)}`,
    );
    this.name = 'TemporalCliMissing';
  }
}

export async function findTemporalCli(
  opts: { build?: boolean; log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<string> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const explicit = env['TEMPORAL_CLI'];
  if (explicit) {
    if (executable(explicit)) return explicit;
    throw new TemporalCliMissing(`TEMPORAL_CLI=${explicit} is not an executable file`, env);
  }
  const found = onPath('temporal', env);
  if (found) return found;
  const cached = path.join(cacheDir(env), 'temporal');
  if (executable(cached)) return cached;
  if (opts.build === false) throw new TemporalCliMissing('not on PATH, not cached', env);
  const go = onPath('go', env);
  if (!go) throw new TemporalCliMissing('not on PATH, not cached, and no Go toolchain to build it', env);
  fs.mkdirSync(cacheDir(env), { recursive: true });
  log(
    `[temporal-cli] building ${MODULE}@${TEMPORAL_CLI_VERSION} into ${cacheDir(env)} (first time only; takes a few minutes)…`,
  );
  const started = Date.now();
  const r = await execa(go, ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], {
    env: { ...env, GOBIN: cacheDir(env) },
    cwd: os.tmpdir(), // outside any module, so `go install pkg@version` is unambiguous
    reject: false,
    all: true,
  });
  if (r.exitCode !== 0 || !executable(cached)) {
    throw new TemporalCliMissing(
      `go install failed (exit ${r.exitCode}):\n${String(r.all ?? '')
        .split('\n')
        .slice(-15)
        .join('\n')}`,
      env,
    );
  }
  log(`[temporal-cli] built in ${Math.round((Date.now() - started) / 1000)} s: ${cached}`);
  return cached;
}
