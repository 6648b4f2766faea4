import path from 'node:path';
import { CliError } from '../core/errors.js';
import { formatVersions } from '../core/versions.js';
import { loadConfig, type Config } from '../io/config.js';
import { preflightDirs } from '../io/safe-fs.js';
import { skillResultPath } from '../io/skill-result.js';
import { parseCommand, UsageError } from './args.js';
import { LANE_RE } from '../core/lanes.js';
import { terminalSafe } from './terminal-text.js';
import { invocationOf, setProgram } from '../io/invocation.js';
import { packageVersion, USAGE } from './usage.js';
import type { Tree } from '../io/infra-tree.js';
import type { Client } from '@temporalio/client';

/** Commands that only read a run: they register no worker (issue 20). */
const READ_ONLY = new Set(['status', 'report', 'list', 'watch']);
/** Signals that detach the CLI as Ctrl-C does (a closed terminal sends SIGHUP, `kill` and systemd SIGTERM). */
export const DETACH_SIGNALS = { SIGINT: 2, SIGHUP: 1, SIGTERM: 15 } as const;
type DetachSignal = keyof typeof DETACH_SIGNALS;

const closedOutput = new Set<NodeJS.WriteStream>();
/**
 * `redeploy … | head`, or a closed terminal: once the reader is gone, writes fail (EPIPE, EIO). Output is
 * then dropped — the run, the mirror into the state file and the skill result go on; without a listener
 * the error event would end the process.
 */
function tolerateClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') > 0) continue;
    stream.on('error', () => closedOutput.add(stream));
  }
}
const write = (stream: NodeJS.WriteStream, line: string): void => {
  if (closedOutput.has(stream)) return;
  try {
    stream.write(`${terminalSafe(line)}\n`);
  } catch {
    closedOutput.add(stream);
  }
};

/** Directories a command writes, checked (and created) before anything starts: io/safe-fs.ts. */
function dirsFor(config: Config, kind: string): Parameters<typeof preflightDirs>[0] {
  const dirs: Parameters<typeof preflightDirs>[0] = [
    { dir: config.stateDir, variable: 'REDEPLOY_STATE_DIR' },
  ];
  if (kind !== 'list' && kind !== 'server')
    dirs.push({
      root: config.skillResultsDir,
      dir: path.dirname(skillResultPath(config.skillResultsDir)),
      variable: 'REDEPLOY_SKILL_RESULTS_DIR',
    });
  // The embedded mode's in-process worker writes the phase logs.
  if (!config.temporal.configured) dirs.push({ dir: config.logDir, variable: 'REDEPLOY_LOG_DIR' });
  return dirs;
}

type Command = ReturnType<typeof parseCommand>;
type RunCommand = Extract<Command, { kind: 'run' }>;
type Out = (line: string) => void;

/**
 * Before anything starts (dry runs included): `--versions auto` resolved, then the run policy — a refused
 * lane/ref/policy combination is exit 2 — and the --require-proven lane. Returns origin/<ref>'s tree as the
 * policy read it: the dry run reads on from it (no second rev-parse).
 */
async function decideRun(cmd: RunCommand, config: Config, out: Out): Promise<Tree | undefined> {
  if (cmd.autoVersions) {
    const { autoVersions } = await import('../io/auto-versions.js');
    cmd.req.versions = await autoVersions(config.omniHome);
    out(`[redeploy] --versions auto: ${formatVersions(cmd.req.versions)}`);
  }
  const { decideRunPolicy, withPolicy } = await import('./pin-policy.js');
  const policy = await decideRunPolicy(config, {
    flags: cmd.req.flags,
    ref: cmd.req.ref,
    pinPolicy: cmd.pinPolicy,
  });
  cmd.req.flags = withPolicy(cmd.req.flags, policy);
  // The env var opts a promoted lane in; the flag applies to whatever lane it is given with.
  const { REQUIRE_PROVEN_ENV } = await import('./proven-env.js');
  const provenEnv = process.env[REQUIRE_PROVEN_ENV];
  if (provenEnv && !LANE_RE.test(provenEnv))
    throw new UsageError([
      `${REQUIRE_PROVEN_ENV} "${provenEnv}" is not a lane name ([a-z0-9-], e.g. stability-test)`,
    ]);
  cmd.requireProven ??= (policy.promoted.promoted && provenEnv) || undefined;
  return policy.tree;
}

interface Detach {
  signal: AbortSignal;
  /** The exit code for a detach: 130 for Ctrl-C, 128 + n for the signal that was received. */
  exitFor: (code: number) => number;
  remove: () => void;
}

/** SIGTERM and SIGHUP detach exactly as Ctrl-C does; the exit code says which one it was (128 + n). */
function onDetachSignals(err: Out): Detach {
  const ac = new AbortController();
  let received: DetachSignal | undefined;
  const handlers: (readonly [DetachSignal, () => void])[] = [];
  const remove = () => {
    for (const [sig, handler] of handlers) process.removeListener(sig, handler);
  };
  for (const sig of Object.keys(DETACH_SIGNALS) as DetachSignal[]) {
    const handler = () => {
      received = sig;
      // Once: a second signal gets the default (ends the process) while the detach is under way.
      remove();
      if (sig !== 'SIGINT') err(`[redeploy] ${sig} received: detaching as Ctrl-C does`);
      ac.abort();
    };
    process.on(sig, handler);
    handlers.push([sig, handler] as const);
  }
  const exitFor = (code: number) => (code === 130 && received ? 128 + DETACH_SIGNALS[received] : code);
  return { signal: ac.signal, exitFor, remove };
}

type TemporalCommand = Exclude<Command, { kind: 'help' | 'version' | 'worker' | 'server' }>;

/**
 * What a command that talks to Temporal needs before it can act: the Temporal client and the command's
 * modules loaded and, with an address configured, the connection. Started before the run policy's checks
 * (issue 23): loading and connecting then overlap the git reads. Nothing is started on the server until
 * the checks pass; a refusal discards this (the connection is closed, its error never shown).
 */
interface Early {
  temporal: Promise<typeof import('../io/temporal.js')>;
  commands: Promise<typeof import('./commands/index.js')>;
  /** Only with a configured address: the embedded mode may have to start its server first. */
  client: Promise<Client> | undefined;
  discard: () => void;
}

function early(cmd: TemporalCommand, config: Config): Early {
  // Loaded only for these commands: --help and --dry-run never pay for the Temporal client.
  const temporal = import('../io/temporal.js');
  const commands = import('./commands/index.js').then(async (c) => {
    await c.preload(cmd.kind);
    return c;
  });
  const client = config.temporal.configured ? temporal.then((t) => t.connectClient(config)) : undefined;
  // Awaited only after the checks: until then a failure must not count as unhandled.
  for (const p of [temporal, commands, client]) p?.catch(() => undefined);
  const discard = () => void client?.then((c) => c.connection.close()).catch(() => undefined);
  return { temporal, commands, client, discard };
}

/** A command that talks to Temporal: the connection (and, where needed, a worker in this process), then dispatch. */
async function connected(
  cmd: TemporalCommand,
  config: Config,
  io: { out: Out; err: Out },
  detach: Detach,
  ready: Early,
): Promise<number> {
  const { connectClient } = await ready.temporal;
  const commands = await ready.commands;
  // Zero-setup: no address configured → the local dev server (started in the background if needed)
  // with its supervised background worker; a worker in this process only when none is there.
  const embedded = !config.temporal.configured;
  let background = false;
  if (embedded) {
    const { ensureEmbeddedServer, checkBackgroundWorker } = await import('../io/embedded.js');
    background = (await ensureEmbeddedServer(config, io.err)).worker;
    if (background && !READ_ONLY.has(cmd.kind)) checkBackgroundWorker(config);
  }
  const client = await (ready.client ?? connectClient(config));
  // Read-only commands never poll a task queue: they read by query, describe and a closed run's result.
  const readOnly = READ_ONLY.has(cmd.kind);
  const local = embedded && !background && !readOnly ? await import('./local-worker.js') : undefined;
  const localWorker = local ? local.localWorkerFactory(config) : undefined;
  const ctx = {
    client,
    config,
    out: io.out,
    signal: detach.signal,
    tty: !cmd.json && !!process.stdout.isTTY,
    argv: process.argv.slice(2),
    ...(localWorker ? { localWorker: localWorker.start } : {}),
  };
  try {
    // Queries, updates and cancellation all need a worker: in embedded mode this process is it.
    if (localWorker) await localWorker.start(await commands.taskQueueOf(ctx, cmd));
    return detach.exitFor(await commands.dispatch(ctx, cmd));
  } finally {
    // The signals go back to their defaults first: a Ctrl-C while the worker stops ends the process.
    detach.remove();
    await localWorker?.stop();
    await client.connection.close();
  }
}

/** After parsing: each kind of command, every input validated before any connection is made. */
async function run(cmd: Command, out: Out, err: Out): Promise<number> {
  if (cmd.kind === 'help' || cmd.kind === 'version') {
    out(cmd.kind === 'help' ? USAGE : packageVersion());
    return 0;
  }
  if (cmd.kind === 'worker') {
    const wc = loadConfig();
    preflightDirs([{ dir: wc.logDir, variable: 'REDEPLOY_LOG_DIR' }]);
    const { runWorker } = await import('../worker.js');
    await runWorker(cmd.target, cmd.metrics ? { metrics: cmd.metrics } : {});
    return 0;
  }
  const config = loadConfig();
  if (cmd.kind === 'run' && cmd.dryRun) {
    const policyTree = await decideRun(cmd, config, out);
    const { dryRun } = await import('./commands/dry-run.js');
    return await dryRun(cmd, out, policyTree);
  }
  const checks = cmd.kind === 'run' ? decideRun(cmd, config, out) : undefined;
  checks?.catch(() => undefined); // awaited below; not "unhandled" meanwhile
  // Why a turn first: the run policy's git reads are spawned by then, and git runs on the other core while
  // loading the Temporal client (synchronous, ~100 ms of CPU from its cache) holds this thread (issue 23).
  if (checks) await new Promise((resolve) => setImmediate(resolve));
  const ready = cmd.kind === 'server' ? undefined : early(cmd, config);
  try {
    await checks;
    preflightDirs(dirsFor(config, cmd.kind));
  } catch (e) {
    ready?.discard();
    throw e;
  }
  const detach = onDetachSignals(err);
  try {
    if (cmd.kind === 'server') {
      const server = await import('./server.js');
      return cmd.stop ? await server.serverStop(config, out) : await server.serve(config, out, detach.signal);
    }
    return await connected(cmd, config, { out, err }, detach, ready as Early);
  } finally {
    detach.remove();
  }
}

/**
 * For the build's training run only (scripts/bundle-cli.mjs): loads what a run's and a `--resume`'s start
 * load after the checks, which a dry run never reaches, so that their scripts get a code cache too.
 */
export async function loadRunPath(): Promise<void> {
  await import('../io/temporal.js');
  const commands = await import('./commands/index.js');
  await commands.preload('run');
  await commands.preload('resume');
}

/** The CLI (src/client.ts is its entry): parse → validate → dispatch. Every input is validated before any connection is made. */
export async function main(argv: string[]): Promise<number> {
  tolerateClosedOutput();
  // Every line the CLI prints may quote a script's output: made terminal-safe here, at the sink.
  const out = (line: string) => write(process.stdout, line);
  const err = (line: string) => write(process.stderr, line);
  // Every hint names the command as it was typed here (`node dist/src/client.js`, `npx redeploy` …).
  setProgram(invocationOf({ script: process.argv[1], env: process.env, cwd: process.cwd() }));
  try {
    return await run(parseCommand(argv), out, err);
  } catch (e) {
    // Every error the CLI means to end with is a CliError: it says what to print and the exit code.
    if (e instanceof CliError) {
      for (const line of e.lines()) err(line);
      return e.exitCode;
    }
    err(`redeploy: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}
