import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { executable, onPath } from './temporal-cli.js';

/**
 * Finds or builds the real (multi-service) Temporal server and its schema tool, for a cluster on
 * PostgreSQL: REDEPLOY_TEMPORAL_SERVER_DIR → the cached build → `go install` into the cache.
 * 1.29.1 is the server inside the pinned dev server (Temporal CLI v1.5.1), so both run the same code.
 * The cache holds temporal-server, temporal-sql-tool and the module's PostgreSQL schema, so it stays
 * usable when the Go module cache is cleaned.
 */
export const TEMPORAL_SERVER_VERSION = 'v1.29.1';
const MODULE = 'go.temporal.io/server';
const BINARIES = [
  { name: 'temporal-server', pkg: `${MODULE}/cmd/server`, built: 'server' },
  { name: 'temporal-sql-tool', pkg: `${MODULE}/cmd/tools/sql`, built: 'sql' },
] as const;

export interface TemporalServerBuild {
  version: string;
  server: string;
  sqlTool: string;
  /** <dir>/schema/postgresql/v12, with temporal/versioned and visibility/versioned inside. */
  schemaDir: string;
}

export function serverCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(base, 'redeploy', 'temporal-server', TEMPORAL_SERVER_VERSION);
}

function layout(dir: string): TemporalServerBuild {
  return {
    version: TEMPORAL_SERVER_VERSION,
    server: path.join(dir, 'temporal-server'),
    sqlTool: path.join(dir, 'temporal-sql-tool'),
    schemaDir: path.join(dir, 'schema', 'postgresql', 'v12'),
  };
}

function complete(b: TemporalServerBuild): boolean {
  return (
    executable(b.server) &&
    executable(b.sqlTool) &&
    fs.existsSync(path.join(b.schemaDir, 'temporal', 'versioned')) &&
    fs.existsSync(path.join(b.schemaDir, 'visibility', 'versioned'))
  );
}

export class TemporalServerMissing extends Error {
  constructor(detail: string, env: NodeJS.ProcessEnv = process.env) {
    super(
      `No Temporal server build found (${detail}). Provide one of:\n` +
        `  1. REDEPLOY_TEMPORAL_SERVER_DIR=<dir> holding temporal-server, temporal-sql-tool and schema/postgresql/v12\n` +
        `  2. Go ≥ 1.23 on PATH, and redeploy builds ${MODULE}@${TEMPORAL_SERVER_VERSION} into ${serverCacheDir(env)}`,
    );
    this.name = 'TemporalServerMissing';
  }
}

export async function findTemporalServer(
  opts: { build?: boolean; log?: (line: string) => void; env?: NodeJS.ProcessEnv } = {},
): Promise<TemporalServerBuild> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const explicit = env['REDEPLOY_TEMPORAL_SERVER_DIR'];
  if (explicit) {
    if (complete(layout(explicit))) return layout(explicit);
    throw new TemporalServerMissing(`REDEPLOY_TEMPORAL_SERVER_DIR=${explicit} is incomplete`, env);
  }
  const dir = serverCacheDir(env);
  const cached = layout(dir);
  if (complete(cached)) return cached;
  if (opts.build === false) throw new TemporalServerMissing(`nothing in ${dir}`, env);
  const go = onPath('go', env);
  if (!go) throw new TemporalServerMissing(`nothing in ${dir}, and no Go toolchain to build it`, env);
  // Built into a side directory and moved in at the end: an interrupted build never looks complete.
  const partial = path.join(dir, '.partial');
  fs.mkdirSync(partial, { recursive: true });
  const goEnv = { ...env, GOBIN: partial };
  const started = Date.now();
  for (const [i, b] of BINARIES.entries()) {
    log(
      `[temporal-server] ${i + 1}/${BINARIES.length} building ${b.pkg}@${TEMPORAL_SERVER_VERSION} ` +
        `(first time only; minutes)…`,
    );
    const t = Date.now();
    // Outside any module, so `go install pkg@version` is unambiguous.
    const r = await execa(go, ['install', `${b.pkg}@${TEMPORAL_SERVER_VERSION}`], {
      env: goEnv,
      cwd: os.tmpdir(),
      reject: false,
      all: true,
    });
    const out = path.join(partial, b.built);
    if (r.exitCode !== 0 || !executable(out)) {
      const tail = String(r.all ?? '')
        .split('\n')
        .slice(-15)
        .join('\n');
      throw new TemporalServerMissing(`go install ${b.pkg} failed (exit ${r.exitCode}):\n${tail}`, env);
    }
    fs.renameSync(out, path.join(partial, b.name));
    log(`[temporal-server] ${b.name} built in ${seconds(t)} s`);
  }
  const modDir = (
    await execa(go, ['list', '-m', '-f', '{{.Dir}}', `${MODULE}@${TEMPORAL_SERVER_VERSION}`], {
      env,
      cwd: os.tmpdir(),
    })
  ).stdout.trim();
  fs.cpSync(
    path.join(modDir, 'schema', 'postgresql', 'v12'),
    path.join(partial, 'schema', 'postgresql', 'v12'),
    {
      recursive: true,
    },
  );
  // The module cache is read-only, and so is the copy: make it removable like the rest of the cache.
  for (const rel of ['', ...fs.readdirSync(path.join(partial, 'schema'), { recursive: true })]) {
    const p = path.join(partial, 'schema', String(rel));
    fs.chmodSync(p, fs.statSync(p).isDirectory() ? 0o755 : 0o644);
  }
  for (const name of ['temporal-server', 'temporal-sql-tool', 'schema'])
    fs.renameSync(path.join(partial, name), path.join(dir, name));
  fs.rmSync(partial, { recursive: true, force: true });
  log(`[temporal-server] ready in ${seconds(started)} s: ${dir}`);
  return cached;
}

const seconds = (since: number) => Math.round((Date.now() - since) / 1000);
