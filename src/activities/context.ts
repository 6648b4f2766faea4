import path from 'node:path';
import { readRegularFile } from '../io/safe-read.js';
import { Context, ApplicationFailure, CancelledFailure } from '@temporalio/activity';
import type { CommandSpec } from '../core/commands.js';
import type { PhaseData, PhaseText } from '../core/details.js';
import type { Phase, PhaseStatus } from '../core/phases.js';
import { ConfigError, loadConfig, type Config } from '../io/config.js';
import { readEnvFile, EnvFileError } from '../io/env-file.js';
import { boundString, boundValue } from '../io/bound.js';
import { worktreePathFor } from '../core/commands.js';
import { createMasker, maskDeep, secretValues, type Masker } from '../io/mask.js';
import { runCommand, type RunResult } from '../io/exec.js';
import { appendFileSafe, ensureOwnedDir, UnsafeDirError } from '../io/safe-fs.js';
import { UnsafeRepositoryError } from '../io/git.js';
import { explainingLines } from '../core/failure-lines.js';

/**
 * What a phase's body reports back. `details` are data the workflow and the CLI act on (paths,
 * versions, SHAs): returned as they are, never masked — masking would change them (a secret "2026"
 * would turn a path into `…/***`); they hold no secret by construction, so never put command output
 * there. `output` is text that came from commands (summaries, warnings, diffs): masked, then merged
 * into the details. Together they make the phase's details (core/details.ts), checked per activity.
 */
export interface PhaseOutcome<P extends Phase> {
  /** Defaults to `completed`; INFISICAL reports `skipped_no_infisical`. */
  status?: PhaseStatus;
  details: PhaseData<P>;
  output: PhaseText<P>;
}

export interface PhaseOptions {
  /** Log under another name than the phase's (failure messages: ALERTS.log, so NOTIFY.log stays NOTIFY's). */
  logName?: string;
  /** The run's ticket: its worktree path is shown unmasked wherever it occurs (see io/mask.ts). */
  ticket?: string;
}

export interface ActivityDeps {
  /** Configuration; read from the worker's environment when absent (validated on every activity entry). */
  config?: Config;
  /** Environment the phase commands start from, before the env file is added. Default: the worker's. */
  baseEnv?: NodeJS.ProcessEnv;
}

/**
 * A failure the operator must see. `retryable: false` for what retrying cannot fix (a missing variable,
 * an unmatched pin); the workflow then waits for an operator decision.
 */
export class PhaseError extends Error {
  readonly retryable: boolean;
  /** What the phase knew when it failed: kept in its state record beside the error. */
  readonly details: Record<string, unknown>;
  /** Server-side wait before the next automatic attempt (e.g. Slack's Retry-After). */
  readonly nextRetryDelayMs: number | undefined;
  constructor(
    readonly type: string,
    message: string,
    opts: { retryable: boolean; details?: Record<string, unknown>; nextRetryDelayMs?: number | undefined },
  ) {
    super(message);
    this.name = 'PhaseError';
    this.retryable = opts.retryable;
    this.details = opts.details ?? {};
    this.nextRetryDelayMs = opts.nextRetryDelayMs;
  }
}

export interface PhaseContext {
  phase: Phase;
  runId: string;
  config: Config;
  /** Worker env + env file: what the phase's commands run with. Never returned or logged. */
  env: Record<string, string>;
  envFile: { path: string; exists: boolean; vars: Record<string, string> };
  mask: Masker;
  attempt: number;
  logFile: string;
  log(line: string): void;
  /** Runs a command with heartbeats, cancellation and the phase log. */
  /** Runs a command; its process group is recorded in `<PHASE>.pgid` while it runs (orphan clean-up). */
  run(spec: CommandSpec, opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<RunResult>;
  heartbeat(detail?: string): void;
  signal: AbortSignal;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** Log files live per run and phase: `<log dir>/<run_id>/<PHASE>.log`. */
export function phaseLogFile(config: Config, runId: string, phase: Phase): string {
  return path.join(config.logDir, runId, `${phase}.log`);
}

/** The phase's masker: the secrets hidden, the configuration-derived strings shown as they are (see createMasker). */
function phaseMasker(
  config: Config,
  runId: string,
  ticket: string | undefined,
  secrets: ReturnType<typeof secretValues>,
): Masker {
  const protect = [
    config.omniHome,
    config.worktreeRoot,
    config.envFile,
    config.stateDir,
    config.logDir,
    config.deployRoot,
    config.skillResultsDir,
    runId,
    ...(ticket ? [ticket, worktreePathFor(config.worktreeRoot, ticket)] : []),
  ];
  return createMasker(secrets, protect);
}

/**
 * Runs a phase's body with its context (configuration, env file, masker, log, heartbeats); turns what
 * it throws into a masked ApplicationFailure with the log tail, and what it returns into its details.
 */
export async function withPhase<P extends Phase>(
  deps: ActivityDeps,
  phase: P,
  runId: string,
  body: (ctx: PhaseContext) => Promise<PhaseOutcome<P>>,
  opts: PhaseOptions = {},
): Promise<{ status?: PhaseStatus; details: PhaseData<P> & PhaseText<P> }> {
  const logName = opts.logName;
  let mask: Masker = (s) => s;
  let tail: string[] = [];
  let logFileUsed: string | undefined;
  try {
    // Read on every attempt: an operator fixes the env file or the configuration, then retries.
    const config = deps.config ?? loadConfig();
    const base = stringEnv(deps.baseEnv ?? process.env);
    const envFile = await readEnvFile(config.envFile, base);
    const env = { ...base, ...envFile.vars };
    mask = phaseMasker(config, runId, opts.ticket, secretValues(envFile.vars, base));
    const activity = Context.current();
    const logFile = logName
      ? path.join(config.logDir, runId, `${logName}.log`)
      : phaseLogFile(config, runId, phase);
    logFileUsed = logFile;
    ensureOwnedDir(config.logDir, path.dirname(logFile), 'REDEPLOY_LOG_DIR');
    const log = (line: string): void => appendFileSafe(logFile, `${mask(line)}\n`);
    const heartbeat = (detail?: string): void =>
      activity.heartbeat(detail === undefined ? undefined : mask(detail));
    const ctx: PhaseContext = {
      phase,
      runId,
      config,
      env,
      envFile,
      mask,
      attempt: activity.info.attempt,
      logFile,
      log,
      heartbeat,
      signal: activity.cancellationSignal,
      run: async (spec, opts = {}) => {
        const result = await runCommand(spec, {
          env: opts.env ? { ...env, ...opts.env } : env,
          mask,
          logFile,
          logRoot: config.logDir,
          heartbeat,
          signal: activity.cancellationSignal,
          ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
          // Every phase's commands, not only DEPLOY's: a killed worker can orphan a SYNC or a seeding too.
          pidFile: `${logFile.slice(0, -'.log'.length)}.pgid`,
          // The developer's tree: no program is looked up there (see io/trusted-env.ts).
          untrustedDirs: [config.omniHome],
        });
        tail = result.tail;
        if (result.aborted) throw new CancelledFailure(`${phase} cancelled; process group stopped`);
        return result;
      },
    };
    log(await attemptHeader(phase, logFile, ctx.attempt, logName !== undefined));
    const outcome = await body(ctx);
    log(`[redeploy] ${phase} ${outcome.status ?? 'completed'}`);
    const details = { ...outcome.details, ...maskDeep(outcome.output, mask) };
    return {
      ...(outcome.status ? { status: outcome.status } : {}),
      details: boundValue(details, logFile),
    };
  } catch (err) {
    // Cancellation surfaces in many shapes (an AbortError from a sleep, a killed command): report it as one.
    if (Context.current().cancellationSignal.aborted && !(err instanceof PhaseError)) {
      throw new CancelledFailure(`${phase} cancelled`);
    }
    throw toFailure(err, phase, mask, tail, logFileUsed);
  }
}

/**
 * The line that opens each attempt in the phase log: `[redeploy] DEPLOY attempt 3 started …`, numbered
 * across the whole log. Temporal's attempt number starts at 1 again for every activity the workflow
 * schedules (an operator's retry, a --resume, a rollback's redeploy), which made a retry "attempt 1"
 * again under the attempts it followed; it is kept in the note when the two differ.
 */
async function attemptHeader(
  phase: Phase,
  logFile: string,
  attempt: number,
  shared: boolean,
): Promise<string> {
  const started = `started ${new Date().toISOString()}`;
  // A shared log (the alerts') holds other activities' attempts: its own number is all it can say.
  if (shared) return `[redeploy] ${phase} attempt ${attempt} ${started}`;
  const header = new RegExp(`^\\[redeploy\\] ${phase} attempt \\d+ started`, 'm');
  const text = await readRegularFile(logFile, { maxBytes: 256 * 1024 * 1024, noFollow: true }).catch(
    () => undefined,
  );
  if (text === undefined) return `[redeploy] ${phase} attempt ${attempt} ${started}`;
  const earlier = text.split('\n').filter((l) => header.test(l)).length;
  const n = earlier + 1;
  if (n === attempt) return `[redeploy] ${phase} attempt ${n} ${started}`;
  const why =
    attempt === 1
      ? 'scheduled again: an operator retry, a --resume or a rollback'
      : `automatic retry ${attempt - 1} of this execution`;
  return `[redeploy] ${phase} attempt ${n} ${started} (${why}; ${earlier} earlier above)`;
}

/** Everything leaving an activity is an ApplicationFailure with a masked message and the log tail. */
function toFailure(
  err: unknown,
  phase: Phase,
  mask: Masker,
  tail: string[],
  logFile: string | undefined,
): Error {
  if (err instanceof CancelledFailure) return err;
  if (err instanceof UnsafeRepositoryError)
    err = new PhaseError('RepositoryNotOwned', err.message, {
      retryable: false,
      details: { repository: err.unsafe.path, allow: err.unsafe.allow },
    });
  if (err instanceof PhaseError) {
    const where = logFile ?? 'the phase log';
    return ApplicationFailure.create({
      type: err.type,
      message: boundString(mask(err.message), 16 * 1024, where),
      nonRetryable: !err.retryable,
      details: [
        boundValue(
          maskDeep({ ...err.details, log_tail: tail, ...(logFile ? { log_file: logFile } : {}) }, mask),
          where,
        ),
      ],
      ...(err.nextRetryDelayMs !== undefined ? { nextRetryDelay: err.nextRetryDelayMs } : {}),
    });
  }
  if (err instanceof EnvFileError) {
    return ApplicationFailure.create({
      type: 'EnvFileInvalid',
      message: boundString(err.message),
      nonRetryable: true,
      details: [{}],
    });
  }
  if (err instanceof UnsafeDirError) {
    // Retrying cannot help until the operator fixes the directory: the message says how.
    return ApplicationFailure.create({
      type: 'UnsafeDirectory',
      message: boundString(err.message),
      nonRetryable: true,
      details: [{}],
    });
  }
  if (err instanceof ConfigError) {
    return ApplicationFailure.create({
      type: 'ConfigInvalid',
      message: `worker configuration: ${err.message}`,
      nonRetryable: true,
      details: [{}],
    });
  }
  const message = err instanceof Error ? err.message : String(err);
  // Unexpected errors keep no cause: a stack or a wrapped error could carry an unmasked value.
  return ApplicationFailure.create({
    type: 'Unexpected',
    message: boundString(mask(`${phase}: ${message}`)),
    details: [boundValue({ log_tail: tail.map(mask) })],
  });
}

/** Exit status in words, for failure messages. */
export function describeExit(r: RunResult): string {
  if (r.spawnError) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return 'timed out';
  if (r.exitCode !== undefined) return `exit ${r.exitCode}`;
  return `killed by ${r.signal ?? 'a signal'}`;
}

/**
 * What to quote from a failed command: the lines that explain it (`ERROR:`, compose's `required variable
 * … is missing`, git's `fatal:`) from its whole output, else its last lines. The full log stays on disk.
 */
export function tailText(r: RunResult, lines = 3): string {
  const all = [...r.stderr.split('\n'), ...r.stdout.split('\n')];
  const explained = explainingLines(all, 0);
  return (explained.length > 0 ? explained : r.tail.slice(-lines)).join('\n');
}
