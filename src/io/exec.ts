import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { formatCommand, type CommandSpec } from '../core/commands.js';
import { boundString } from './bound.js';
import { readRegularFile } from './safe-read.js';
import { ensureOwnedDir, openAppendSafe, writeNewFileSafe } from './safe-fs.js';
import type { Masker } from './mask.js';
import { hardenGitSpec, withoutGitVars } from './git.js';
import { isolatePython, trustedPath } from './trusted-env.js';

/**
 * The one place that runs subprocesses. Every command runs through execa with an argv array, in its own
 * process group (so cancellation reaches grandchildren such as `docker compose build`), with output
 * masked line by line, appended to the phase's log file, and its tail kept for failure reports.
 */

export const TAIL_LINES = 20;

export interface RunOptions {
  env: Record<string, string>;
  mask: Masker;
  /** Appended to; created 0600; never through a link (io/safe-fs.ts). */
  logFile: string;
  /** The directory a variable names (REDEPLOY_LOG_DIR) above logFile's: checked from there down. */
  logRoot?: string;
  /** Records the process group so a later attempt can stop an orphan left by a killed worker. */
  pidFile?: string;
  /** Called every `heartbeatMs` with the latest output line (masked), also while the command is silent. */
  heartbeat?: (lastLine: string) => void;
  heartbeatMs?: number;
  /** Aborting stops the whole process group: SIGINT, then SIGTERM, then SIGKILL. */
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Directories others can write (OMNI_HOME): never searched for a program, never a working directory. */
  untrustedDirs?: readonly string[];
}

export interface RunResult {
  command: string;
  exitCode: number | undefined;
  signal: string | undefined;
  /** Raw (unmasked) output, for parsing only: never log, return or send it without masking. */
  stdout: string;
  stderr: string;
  tail: string[];
  lastLine: string;
  aborted: boolean;
  timedOut: boolean;
  /** The file could not be started at all (ENOENT, EACCES): `exitCode` is undefined. */
  spawnError: string | undefined;
}

/** Whether any process of the group still exists. */
export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * INT gives scripts the chance to run their traps (deploy-runtime.sh restores its backup), TERM and KILL
 * make sure. Background children of a non-interactive shell ignore INT, hence the escalation.
 */
export async function killProcessGroup(pgid: number, graceMs = 5000): Promise<void> {
  for (const [sig, wait] of [
    ['SIGINT', graceMs],
    ['SIGTERM', 3000],
    ['SIGKILL', 5000],
  ] as const) {
    try {
      process.kill(-pgid, sig);
    } catch {
      return; // no such group: already gone
    }
    const deadline = Date.now() + wait;
    while (Date.now() < deadline) {
      if (!groupAlive(pgid)) return;
      await sleep(50);
    }
  }
}

/** Older than any attempt can run (DEPLOY's start-to-close is 60 min): then the id may belong to someone else. */
const ORPHAN_MAX_AGE_MS = 65 * 60_000;

/**
 * A worker killed mid-command leaves its process group running. The group id is kept in a file unique to
 * the run and phase, so the next attempt can stop that orphan before starting again (two deploys racing
 * for the same lock would otherwise fail the retry).
 */
async function stopOrphan(pidFile: string, log: (line: string) => void): Promise<void> {
  let pgid: number;
  let age: number;
  try {
    // The log dir is writable by whoever has the home directory: a FIFO or symlink here is not read.
    pgid = Number.parseInt(
      (await readRegularFile(pidFile, { maxBytes: 64, noFollow: true, timeoutMs: 2000 })) ?? '',
      10,
    );
    age = Date.now() - (await fs.promises.stat(pidFile)).mtimeMs;
  } catch {
    return;
  }
  if (
    Number.isInteger(pgid) &&
    pgid > 1 &&
    age < ORPHAN_MAX_AGE_MS &&
    groupAlive(pgid) &&
    // A planted pid (sshd's, the Temporal server's) must not be killed as root: only a group one of whose
    // processes carries this very pid file's marker in its environment is ours.
    (await groupIsOurs(pgid, pidFile))
  ) {
    log(`[redeploy] stopping process group ${pgid} left by an earlier attempt`);
    await killProcessGroup(pgid);
  }
  await fs.promises.rm(pidFile, { force: true });
}

const PGID_MARKER = 'REDEPLOY_PGID_FILE';

/**
 * Whether a process of group `pgid` was started by runCommand for `pidFile` (its environment has the
 * marker). Linux reads /proc; elsewhere (macOS) there is no /proc and the group is trusted as before.
 */
async function groupIsOurs(pgid: number, pidFile: string): Promise<boolean> {
  const entries = await fs.promises.readdir('/proc').catch(() => undefined);
  if (!entries) return true;
  const marker = `${PGID_MARKER}=${pidFile}`;
  for (const pid of entries.filter((e) => /^\d+$/.test(e))) {
    const stat = await fs.promises.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    // Fields after the parenthesised command name: state ppid pgrp …
    const pgrp = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    if (pgrp !== pgid) continue;
    const environ = await fs.promises.readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
    if (environ.split('\0').includes(marker)) return true;
  }
  return false;
}

/**
 * The trust model, applied to every command here rather than per call: an absolute working directory
 * that is not one others write (the worktree, or `/`; SYNC's pull-all.sh alone keeps OMNI_HOME, as the
 * seed runs it), a PATH with absolute entries only and none under OMNI_HOME, Python isolated, and git
 * through io/git.ts.
 */
export async function trustedSpec(
  given: CommandSpec,
  env: Record<string, string>,
  untrustedDirs: readonly string[] = [],
): Promise<{ spec: CommandSpec; env: Record<string, string> }> {
  if (!path.isAbsolute(given.cwd))
    throw new Error(`refusing to run ${given.file}: working directory ${given.cwd} is not absolute`);
  const pullAll = given.file === 'bash' && /\/docs\/tools\/pull-all\.sh$/.test(given.args[0] ?? '');
  if (!pullAll && untrustedDirs.some((d) => path.resolve(given.cwd) === path.resolve(d)))
    throw new Error(
      `refusing to run ${given.file} with ${given.cwd} as its working directory: others can write there`,
    );
  let spec = isolatePython(given);
  // No GIT_DIR & co. for anyone: deploy-runtime.sh runs git too.
  let cleanEnv: Record<string, string> = {
    ...withoutGitVars(env),
    // The scripts run git too (deploy-runtime.sh, the lineage guard, pull-all.sh): no hook or fsmonitor
    // program from a clone's config runs as root through them either (git ≥ 2.31 reads these).
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: 'core.hooksPath',
    GIT_CONFIG_VALUE_0: '/dev/null',
    GIT_CONFIG_KEY_1: 'core.fsmonitor',
    GIT_CONFIG_VALUE_1: 'false',
    PATH: trustedPath(env['PATH'], untrustedDirs),
  };
  if (path.basename(spec.file) === 'git') ({ spec, env: cleanEnv } = await hardenGitSpec(spec, cleanEnv));
  return { spec, env: cleanEnv };
}

/** The phase's log for one command: every line masked and appended; the tail and last line kept for reports. */
interface CommandLog {
  write(line: string): void;
  /** Masks, appends and keeps a line of output; returns it masked. */
  record(line: string): string;
  tail: string[];
  lastLine(): string;
  close(): void;
}

function openCommandLog(opts: RunOptions): CommandLog {
  const logDir = path.dirname(opts.logFile);
  ensureOwnedDir(opts.logRoot ?? logDir, logDir, 'REDEPLOY_LOG_DIR');
  const fd = openAppendSafe(opts.logFile);
  const tail: string[] = [];
  let lastLine = '';
  const write = (line: string): void => {
    fs.writeSync(fd, `${line}\n`);
  };
  return {
    write,
    record(line) {
      const masked = opts.mask(line);
      write(masked);
      if (masked.trim() !== '') {
        // A single huge line (a binary dump, minified JSON) must not blow up heartbeats and failures.
        const kept = boundString(masked, 2048, opts.logFile);
        lastLine = kept.length > 1024 ? boundString(masked, 1024, opts.logFile) : kept;
        tail.push(kept);
        if (tail.length > TAIL_LINES) tail.shift();
      }
      return masked;
    },
    tail,
    lastLine: () => lastLine,
    close: () => fs.closeSync(fd),
  };
}

/** What runCommand returns for a command cancelled before it started: nothing ran. */
function notStarted(command: string, log: CommandLog): RunResult {
  return {
    command,
    exitCode: undefined,
    signal: undefined,
    stdout: '',
    stderr: '',
    tail: log.tail,
    lastLine: log.lastLine(),
    aborted: true,
    timedOut: false,
    spawnError: undefined,
  };
}

/**
 * Watches a started process group: aborting or the deadline stops the whole group; heartbeats carry the
 * latest line. `settle` (once the leader exited) stops whatever of the group is left.
 */
function superviseGroup(pgid: number | undefined, opts: RunOptions, log: CommandLog) {
  const state = { aborted: false, timedOut: false };
  const onAbort = (): void => {
    state.aborted = true;
    if (pgid !== undefined) void killProcessGroup(pgid);
  };
  // Our own timer, not execa's `timeout`: that signals only the leader, and the wait would then last as
  // long as any grandchild holding the output pipe.
  const timer = opts.timeoutMs
    ? setTimeout(() => {
        state.timedOut = true;
        if (pgid !== undefined) void killProcessGroup(pgid, 2000);
      }, opts.timeoutMs)
    : undefined;
  if (opts.signal?.aborted) onAbort();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const beat = opts.heartbeat;
  const heartbeatTimer = beat ? setInterval(() => beat(log.lastLine()), opts.heartbeatMs ?? 2000) : undefined;
  return {
    state,
    async settle(): Promise<void> {
      if (timer) clearTimeout(timer);
      opts.signal?.removeEventListener('abort', onAbort);
      // The leader may be gone and its children not.
      if ((state.aborted || state.timedOut) && pgid !== undefined) await killProcessGroup(pgid, 2000);
    },
    stopHeartbeat: (): void => {
      if (heartbeatTimer) clearInterval(heartbeatTimer);
    },
  };
}

/** The most output of one command kept for its caller (stdout and stderr each). */
const OUTPUT_LIMIT = 64 * 1024 * 1024;

/** What execa reports of a finished command (the fields read here). */
interface Exited {
  exitCode?: number | undefined;
  signal?: string | undefined;
  failed: boolean;
  isTerminated: boolean;
  isMaxBuffer?: boolean;
  originalMessage?: string | undefined;
  shortMessage?: string | undefined;
  stdout: unknown;
  stderr: unknown;
}

/** The last log lines (a start failure, the exit) and the result, masked where it is text for people. */
function finish(
  result: Exited,
  file: string,
  how: { aborted: boolean; timedOut: boolean },
  command: string,
  opts: RunOptions,
  log: CommandLog,
): RunResult {
  const { aborted, timedOut } = how;
  const spawnError =
    result.exitCode === undefined && result.failed && !result.isTerminated && !timedOut && !aborted
      ? (result.originalMessage ?? result.shortMessage)
      : undefined;
  if (spawnError) log.record(`[redeploy] could not start ${file}: ${spawnError}`);
  // Over OUTPUT_LIMIT execa cuts the output off and keeps the exit status: callers parse stdout (`uv pip
  // show`, a JSON report), so a command whose output did not fit counts as failed, never as read in full.
  const overflow = result.isMaxBuffer === true;
  if (overflow)
    log.record(
      `[redeploy] ${file} printed more than ${OUTPUT_LIMIT} bytes: output cut off, counted as failed`,
    );
  log.write(
    `[redeploy] exit ${result.exitCode ?? result.signal ?? 'unknown'}${aborted ? ' (cancelled)' : ''}${timedOut ? ` (timed out after ${opts.timeoutMs} ms)` : ''}`,
  );
  return {
    command,
    exitCode: overflow ? undefined : result.exitCode,
    signal: result.signal,
    stdout: typeof result.stdout === 'string' ? result.stdout : '',
    stderr: typeof result.stderr === 'string' ? result.stderr : '',
    tail: log.tail,
    lastLine: log.lastLine(),
    aborted,
    timedOut,
    spawnError: spawnError ? opts.mask(spawnError) : undefined,
  };
}

export async function runCommand(given: CommandSpec, opts: RunOptions): Promise<RunResult> {
  const { spec, env } = await trustedSpec(given, opts.env, opts.untrustedDirs);
  const log = openCommandLog(opts);
  // As the builder gave it (what the dry-run shows); the log line below has the argv really run.
  const command = opts.mask(formatCommand(given));
  let stopHeartbeat: (() => void) | undefined;
  try {
    if (opts.pidFile) await stopOrphan(opts.pidFile, log.write);
    // Cancelled before it started: start nothing.
    if (opts.signal?.aborted) return notStarted(command, log);
    log.write(
      `[redeploy] ${new Date().toISOString()} $ ${opts.mask(formatCommand(spec))}  (cwd ${spec.cwd})`,
    );
    const line = function* (chunk: unknown) {
      log.record(String(chunk));
      yield String(chunk);
    };
    const subprocess = execa(spec.file, spec.args, {
      cwd: spec.cwd,
      env: opts.pidFile ? { ...env, [PGID_MARKER]: opts.pidFile } : env,
      extendEnv: false,
      detached: true, // own process group: killing it reaches every descendant
      stdin: 'ignore',
      reject: false,
      maxBuffer: OUTPUT_LIMIT,
      // The log, the tail and the heartbeats get the masked line; the result keeps the raw output,
      // because callers parse it (`uv pip show`, a JSON report) and masking must never change data.
      stdout: [line],
      stderr: [line],
    });
    const pgid = subprocess.pid;
    if (pgid !== undefined && opts.pidFile)
      // Removed and created anew (O_EXCL): a link planted at the .pgid name is unlinked, its target untouched.
      await writeNewFileSafe(opts.pidFile, String(pgid));
    const watch = superviseGroup(pgid, opts, log);
    stopHeartbeat = watch.stopHeartbeat;
    const result = await subprocess;
    await watch.settle();
    if (opts.pidFile) await fs.promises.rm(opts.pidFile, { force: true });
    return finish(result, spec.file, watch.state, command, opts, log);
  } finally {
    stopHeartbeat?.();
    log.close();
  }
}
