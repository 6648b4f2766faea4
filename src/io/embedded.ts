import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { execa } from 'execa';
import { alive } from './pid.js';
import type { Config } from './config.js';
import { startDevArgs } from './dev-server.js';
import { findTemporalCli, timed } from './temporal-cli.js';
import { writeFileAtomic } from './atomic.js';
import { prog } from './invocation.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { checkExistingFile, ensureOwnedDir, openAppendSafe } from './safe-fs.js';

/**
 * Zero-setup mode: with no Temporal address configured, redeploy uses a local dev server at
 * 127.0.0.1:<embedded port>, starting one in the background when nothing answers there. Its history
 * lives in a SQLite file under the state dir, so a later --resume (even after a reboot) finds the run.
 */
export interface EmbeddedInfo {
  pid: number;
  address: string;
  uiUrl: string;
  dbFile: string;
  logFile: string;
  startedAt: string;
}

export function embeddedDir(config: Config): string {
  return path.join(config.stateDir, 'temporal');
}
const infoFile = (config: Config) => path.join(embeddedDir(config), 'server.json');

/** A pid file of ours, read without following a link: its pid is what `server --stop` signals. */
function readPidJson<T>(file: string): T | undefined {
  try {
    const fd = fs.openSync(file, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    try {
      if (!fs.fstatSync(fd).isFile()) return undefined;
      return JSON.parse(fs.readFileSync(fd, 'utf8')) as T;
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

export function readEmbeddedInfo(config: Config): EmbeddedInfo | undefined {
  return readPidJson<EmbeddedInfo>(infoFile(config));
}

export async function answers(address: string, timeoutMs = 1500): Promise<boolean> {
  try {
    const connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    try {
      await connection.workflowService.getSystemInfo({});
      return true;
    } finally {
      await connection.close();
    }
  } catch {
    return false;
  }
}

/** How long a CLI waits for another one to start the server before it says so and gives up. */
const START_WAIT_MS = 90_000;

/**
 * `<dir>/start.lock`, a directory (mkdir is atomic: one of two racing CLIs gets it) holding the owner's
 * pid. Taken around "probe → start → answers" so two CLIs at once start one server, not two servers
 * fighting over one SQLite file ("database is locked"). A lock whose owner is gone is removed.
 */
function tryStartLock(lockDir: string): boolean {
  try {
    fs.mkdirSync(lockDir, { mode: 0o700 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    let owner = NaN;
    try {
      owner = Number(fs.readFileSync(path.join(lockDir, 'pid'), 'utf8'));
    } catch {
      // Just made, pid not written yet: only stale once it is old.
      const age = Date.now() - (fs.statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs ?? 0);
      if (age < 10_000) return false;
    }
    if (Number.isInteger(owner) && owner > 0 && alive(owner)) return false;
    fs.rmSync(lockDir, { recursive: true, force: true });
    return false; // taken on the next turn, after another look at the address
  }
  // The lock directory was just made by this process: 'wx' all the same (nothing is ever written through a link).
  fs.writeFileSync(path.join(lockDir, 'pid'), String(process.pid), { flag: 'wx', mode: 0o600 });
  return true;
}

/**
 * The background worker beside a background server (src/supervisor.ts): its supervisor's pid, process
 * group leader of it and the worker, so `redeploy server --stop` ends both.
 */
export interface EmbeddedWorkerInfo {
  pid: number;
  serverPid: number;
  taskQueue: string;
  logFile: string;
  startedAt: string;
  /** workerSettings() of the CLI that started it: the background worker runs with that CLI's environment. */
  settings?: string;
}
const workerInfoFile = (config: Config) => path.join(embeddedDir(config), 'worker.json');
const SUPERVISOR = fileURLToPath(new URL('../supervisor.js', import.meta.url));

export function readEmbeddedWorker(config: Config): EmbeddedWorkerInfo | undefined {
  // Its pid's process group is what `server --stop` signals: read like server.json.
  return readPidJson<EmbeddedWorkerInfo>(workerInfoFile(config));
}

/** The background server redeploy started (server.json, its pid alive): only that one gets a background worker. */
const ourServer = (config: Config): EmbeddedInfo | undefined => {
  const info = readEmbeddedInfo(config);
  return info && alive(info.pid) ? info : undefined;
};
const workerAlive = (config: Config): boolean => {
  const w = readEmbeddedWorker(config);
  return !!w && alive(w.pid);
};
/**
 * Nothing left to start: the server answers, and a server of ours has its worker. A server answering
 * that redeploy did not start in the background (`redeploy server` in a terminal runs its own worker)
 * gets none.
 */
const ready = async (config: Config): Promise<boolean> =>
  (await answers(config.temporal.address)) && (!ourServer(config) || workerAlive(config));

export interface EmbeddedStatus {
  info: EmbeddedInfo | undefined;
  started: boolean;
  /** A supervised background worker polls the default task queue: a CLI need not run one. */
  worker: boolean;
}

/**
 * Reuses the server answering at the embedded address, or starts one that outlives this process, and
 * beside a background server of ours a supervised background worker (started again if it is not running).
 */
export async function ensureEmbeddedServer(
  config: Config,
  log: (line: string) => void,
): Promise<EmbeddedStatus> {
  const { address } = config.temporal;
  const status = (started: boolean): EmbeddedStatus => ({
    info: readEmbeddedInfo(config),
    started,
    worker: workerAlive(config),
  });
  if (await ready(config)) return status(false);
  const dir = ensureOwnedDir(config.stateDir, embeddedDir(config), 'REDEPLOY_STATE_DIR');
  const lockDir = path.join(dir, 'start.lock');
  const deadline = Date.now() + START_WAIT_MS;
  let said = false;
  for (;;) {
    if (tryStartLock(lockDir)) {
      try {
        // Whoever held the lock before may have started them meanwhile.
        let started = false;
        if (!(await answers(address))) {
          await startEmbeddedServer(config, dir, log);
          started = true;
        }
        const server = ourServer(config);
        if (server && !workerAlive(config)) await startEmbeddedWorker(config, dir, server.pid, log);
        return status(started);
      } finally {
        fs.rmSync(lockDir, { recursive: true, force: true });
      }
    }
    if (!said) {
      said = true;
      log(
        `[redeploy] another redeploy is starting the local Temporal dev server; waiting for it (${lockDir})`,
      );
    }
    if (await ready(config)) return status(false);
    if (Date.now() > deadline)
      throw new Error(
        `the local Temporal dev server did not come up on ${address} within ${START_WAIT_MS / 1000} s while another ` +
          `redeploy held ${lockDir}; if no redeploy is starting, remove that directory and run again`,
      );
    await sleep(250);
  }
}

/**
 * Starts the supervisor of the background worker (src/supervisor.ts), detached like the server, its
 * output in `worker.log` beside `server.log`. Called under start.lock: one per state directory.
 */
async function startEmbeddedWorker(
  config: Config,
  dir: string,
  serverPid: number,
  log: (line: string) => void,
): Promise<void> {
  const logFile = path.join(dir, 'worker.log');
  const fd = openAppendSafe(logFile) as 1; // a raw descriptor: see startEmbeddedServer
  const child = execa(process.execPath, [SUPERVISOR, String(serverPid)], {
    detached: true,
    stdin: 'ignore',
    stdout: fd,
    stderr: fd,
    reject: false,
    cleanup: false,
  });
  child.unref();
  fs.closeSync(fd);
  const info: EmbeddedWorkerInfo = {
    pid: child.pid ?? 0,
    serverPid,
    taskQueue: config.taskQueue,
    logFile,
    startedAt: new Date().toISOString(),
    settings: workerSettings(config),
  };
  await writeFileAtomic(workerInfoFile(config), `${JSON.stringify(info, null, 2)}\n`, 0o600);
  log(
    `[redeploy] started a background worker for task queue ${config.taskQueue} (pid ${info.pid}, log ${logFile}); it stops with the server`,
  );
}

/**
 * What decides where the background worker fetches, builds, deploys and writes: it keeps the environment
 * of the CLI that started it, so a later CLI with other settings would have its run deployed from there.
 */
export function workerSettings(config: Config, env: NodeJS.ProcessEnv = process.env): string {
  const c = config;
  return JSON.stringify({
    omniHome: c.omniHome,
    worktreeRoot: c.worktreeRoot,
    worktreeRef: c.worktreeRef,
    envFile: c.envFile,
    skillResultsDir: c.skillResultsDir,
    logDir: c.logDir,
    deployRoot: c.deployRoot,
    healthEndpoints: c.healthEndpointsSet ? c.healthEndpoints : null,
    versionContainer: c.versionContainerSet ? c.versionContainer : null,
    verifyRedirects: c.verifyRedirects,
    pinMode: c.pinMode,
    lane: env['ONEX_DEPLOY_LANE'] ?? null,
  });
}

/**
 * Refuses (exit 2) a command that would hand a run to a background worker started with other settings:
 * it would deploy from that worker's OMNI_HOME, env file and lane, not this CLI's.
 */
export function checkBackgroundWorker(config: Config): void {
  const w = readEmbeddedWorker(config);
  if (!w || w.settings === workerSettings(config)) return;
  const theirs = w.settings ? (JSON.parse(w.settings) as Record<string, unknown>) : {};
  const ours = JSON.parse(workerSettings(config)) as Record<string, unknown>;
  const differ = Object.keys(ours).filter((k) => JSON.stringify(theirs[k]) !== JSON.stringify(ours[k]));
  throw new CliError(
    `the background worker for ${config.stateDir} (pid ${w.pid}) was started with other settings ` +
      `(${differ.join(', ') || 'unknown'}) and would run this command's redeploy with them. ` +
      `Stop it with: ${prog()} server --stop (the history stays), then run again — or use the settings it was started with`,
    EXIT_USAGE,
    { prefixed: true },
  );
}

/** Stops the background worker (its supervisor's process group), waiting for its graceful shutdown. */
async function stopEmbeddedWorker(config: Config): Promise<string | undefined> {
  const w = readEmbeddedWorker(config);
  fs.rmSync(workerInfoFile(config), { force: true });
  if (!w || !alive(w.pid)) return undefined;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-w.pid, sig); // the group: supervisor and worker
    } catch {
      // already gone
    }
  };
  signal('SIGTERM');
  for (let i = 0; i < 150 && alive(w.pid); i++) await sleep(100);
  if (alive(w.pid)) signal('SIGKILL');
  return `stopped the background worker (pid ${w.pid})`;
}

async function startEmbeddedServer(
  config: Config,
  dir: string,
  log: (line: string) => void,
): Promise<{ info: EmbeddedInfo; started: boolean }> {
  const { address, embeddedUiPort } = config.temporal;
  const cli = await findTemporalCli({ log });
  const dbFile = path.join(dir, 'temporal.db');
  const logFile = path.join(dir, 'server.log');
  const port = address.split(':')[1] ?? '7233';
  // A raw descriptor, not execa's {file} target (that one is piped through us and dies with us). execa's
  // types only accept literal descriptors, hence the cast; at run time any open fd is passed through.
  ensureOwnedDir(config.stateDir, dir, 'REDEPLOY_STATE_DIR');
  // The server opens its database by name (following links): what is there must be a plain file of ours.
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`, `${dbFile}-journal`]) checkExistingFile(f);
  const fd = openAppendSafe(logFile) as 1;
  const child = execa(
    cli,
    startDevArgs({ port, uiPort: embeddedUiPort, dbFile, logLevel: 'warn' }),
    // Detached with its own session and no pipes to us: it keeps running after this CLI exits.
    { detached: true, stdin: 'ignore', stdout: fd, stderr: fd, reject: false },
  );
  child.unref();
  fs.closeSync(fd);
  const pid = child.pid ?? 0;
  const deadline = Date.now() + 60_000;
  // The first start creates the SQLite schema: seconds on a loaded machine, so it is announced.
  await timed(
    log,
    `[redeploy] starting a local Temporal dev server on ${address}`,
    async () => {
      while (!(await answers(address, 1000))) {
        if (!alive(pid) || Date.now() > deadline) {
          const tail = fs.readFileSync(logFile, 'utf8').split('\n').slice(-10).join('\n');
          throw new Error(
            `the local Temporal dev server did not start on ${address} (log ${logFile}):\n${tail}`,
          );
        }
        await sleep(250);
      }
    },
    (_v, s) => `[redeploy] the local Temporal dev server answers after ${s} s`,
  );
  const info: EmbeddedInfo = {
    pid,
    address,
    uiUrl: `http://127.0.0.1:${embeddedUiPort}`,
    dbFile,
    logFile,
    startedAt: new Date().toISOString(),
  };
  await writeFileAtomic(infoFile(config), `${JSON.stringify(info, null, 2)}\n`, 0o600);
  log(
    `[redeploy] started a local Temporal dev server on ${address} (pid ${pid}, history in ${dbFile}, Web UI ${info.uiUrl}); stop it with \`${prog()} server --stop\``,
  );
  return { info, started: true };
}

export async function stopEmbeddedServer(config: Config): Promise<string> {
  // The worker first: it shuts down while the server still answers.
  const worker = await stopEmbeddedWorker(config);
  const info = readEmbeddedInfo(config);
  if (!info || !alive(info.pid)) {
    fs.rmSync(infoFile(config), { force: true });
    return worker ?? 'no local Temporal dev server started by redeploy is running';
  }
  process.kill(info.pid, 'SIGTERM');
  for (let i = 0; i < 100 && alive(info.pid); i++) await sleep(100);
  if (alive(info.pid)) process.kill(info.pid, 'SIGKILL');
  fs.rmSync(infoFile(config), { force: true });
  return `${worker ? `${worker}; ` : ''}stopped the local Temporal dev server (pid ${info.pid}); its history stays in ${info.dbFile}`;
}
