// What every measure shares: a private copy of the build, the product's modules loaded from it, one real
// Temporal dev server, and subprocess workers / CLI runs pointed at a sandbox.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { clearTimeout, setTimeout } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Copies dist/ (and the sandbox script templates) to a temp dir and runs everything from there. The suite
 * runs for minutes and spawns `node …/client.js` hundreds of times; a concurrent `npm run build` (which
 * starts with `rm -rf dist`) would otherwise pull modules from under it. Outside the repo so that eslint
 * and prettier never see compiled files.
 */
export async function snapshotDist() {
  const src = path.join(REPO_ROOT, 'dist');
  const root = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-bench-'));
  const dist = path.join(root, 'dist');
  try {
    await copyBuild(src, dist);
    await assertBundleCurrent(dist);
  } catch (err) {
    await fs.rm(root, { recursive: true, force: true });
    throw err;
  }
  // sandbox.js looks for its templates next to itself first.
  await fs.cp(
    path.join(REPO_ROOT, 'test', 'support', 'sandbox-scripts'),
    path.join(dist, 'test', 'support', 'sandbox-scripts'),
    { recursive: true },
  );
  await fs.copyFile(path.join(REPO_ROOT, 'package.json'), path.join(root, 'package.json')); // for --version
  await fs.symlink(path.join(REPO_ROOT, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return { root, dist, cleanup: () => fs.rm(root, { recursive: true, force: true }) };
}

/**
 * client.js runs the CLI bundle only when it is at least as new as tsc's cli/main.js; after a bare `tsc`
 * it silently runs the ~300 modules instead, and every CLI measure would time a CLI no operator runs.
 */
async function assertBundleCurrent(dist) {
  const mtime = (rel) =>
    fs.stat(path.join(dist, rel)).then(
      (s) => s.mtimeMs,
      () => undefined,
    );
  const [bundle, modules] = await Promise.all([mtime('src/cli-bundle/main.cjs'), mtime('src/cli/main.js')]);
  const problem =
    modules === undefined
      ? 'dist/src/cli/main.js is missing'
      : bundle === undefined
        ? 'dist/src/cli-bundle/main.cjs is missing (the CLI would run unbundled)'
        : bundle < modules
          ? 'dist/src/cli-bundle/main.cjs is older than dist/src/cli/main.js (the CLI would run unbundled)'
          : undefined;
  if (problem) throw new Error(`${problem}: run \`npm run build\` (npm run bench does), not tsc alone.`);
}

/**
 * `npm run build` writes dist/workflow-bundle.js last, so its presence means a complete build. Another
 * build may be under way (it starts with `rm -rf dist`): wait for it, and copy again if it pulls files
 * away mid-copy.
 */
async function copyBuild(src, dest) {
  const marker = path.join(src, 'workflow-bundle.js');
  for (let attempt = 1; ; attempt++) {
    const deadline = Date.now() + 120_000;
    while (!(await fs.stat(marker).catch(() => undefined))) {
      if (Date.now() > deadline)
        throw new Error(`${marker} not found: run \`npm run build\` (npm run bench does)`);
      await sleep(1000);
    }
    try {
      await fs.rm(dest, { recursive: true, force: true });
      // Timestamps kept: client.js runs the CLI bundle only when it is newer than tsc's cli/main.js.
      await fs.cp(src, dest, {
        recursive: true,
        preserveTimestamps: true,
        filter: (p) => !p.endsWith('.map'),
      });
      await fs.access(path.join(dest, 'workflow-bundle.js'));
      return;
    } catch (e) {
      if (attempt >= 5) throw e;
    }
  }
}

/** The product and test-support modules, loaded from the snapshot. */
export async function loadModules(dist) {
  const load = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
  const [
    devServer,
    temporalCli,
    worker,
    config,
    activities,
    sandbox,
    harness,
    workflows,
    messages,
    versions,
    taskQueues,
  ] = await Promise.all([
    load('src/io/dev-server.js'),
    load('src/io/temporal-cli.js'),
    load('src/worker.js'),
    load('src/io/config.js'),
    load('src/activities/index.js'),
    load('test/support/sandbox.js'),
    load('test/support/harness.js'),
    // The workflow function and message definitions: runs are started and asked by these, not by names.
    load('src/workflows/index.js'),
    load('src/workflows/messages.js'),
    load('src/core/versions.js'),
    load('src/core/task-queue.js'),
  ]);
  return {
    startDevServer: devServer.startDevServer,
    freePort: devServer.freePort,
    findTemporalCli: temporalCli.findTemporalCli,
    createWorker: worker.createWorker,
    workflowBundle: worker.workflowBundle,
    PREBUILT_BUNDLE: worker.PREBUILT_BUNDLE,
    WORKFLOWS_PATH: worker.WORKFLOWS_PATH,
    loadConfig: config.loadConfig,
    createActivities: activities.createActivities,
    createSandbox: sandbox.createSandbox,
    DEFAULT_ENV: sandbox.DEFAULT_ENV,
    sandboxVars: harness.sandboxVars,
    redeploy: workflows.redeploy,
    progressQuery: messages.progressQuery,
    decideUpdate: messages.decideUpdate,
    formatVersions: versions.formatVersions,
    taskQueueFor: taskQueues.taskQueueFor,
    clientEntry: path.join(dist, 'src', 'client.js'),
    workerEntry: path.join(dist, 'src', 'worker.js'),
  };
}

/**
 * pyenv's `python3` is a bash shim costing ~100 ms per start; the docker/uv/seed stand-ins are Python, so
 * every stand-in call would pay it. A real `docker` has no such shim, so the bench puts the interpreter
 * itself first on PATH (both sides of every ratio get the same PATH).
 */
export async function directPython(root) {
  let exe;
  try {
    exe = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
  const bin = path.join(root, 'bin');
  await fs.mkdir(bin, { recursive: true });
  await fs.symlink(exe, path.join(bin, 'python3'));
  process.env.PATH = `${bin}${path.delimiter}${process.env.PATH ?? ''}`;
  return exe;
}

let runCounter = 0;
/** `[--runs N] DIST …` of the A/B scripts (bench/scripts/*-timing.mjs): the builds to compare, default dist/. */
export function buildsFromArgv(argv, defaultRuns = 10) {
  let runs = defaultRuns;
  const dists = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--runs') runs = Number(argv[++i]);
    else dists.push(path.resolve(argv[i]));
  }
  if (!dists.length) dists.push(path.join(REPO_ROOT, 'dist'));
  return { runs, dists };
}

/** A run id of the seed's shape (`redeploy-YYYYMMDD-<6 hex>`), unique within this process. */
export function benchRunId() {
  const day = new Date().toISOString().slice(0, 10).replaceAll('-', '');
  const n = (process.pid * 4096 + ++runCounter + Date.now()) % 0xffffff;
  return `redeploy-${day}-${n.toString(16).padStart(6, '0')}`;
}

/** Input of a `redeploy` workflow, as the CLI builds it. */
export function runInput(runId, versions, flags = {}) {
  return {
    runId,
    worktreeTicket: runId,
    versions,
    flags: {
      skipSync: false,
      skipDockerfileUpdate: false,
      skipInfisical: false,
      verifyOnly: false,
      ...flags,
    },
    startedBy: 'bench@localhost',
  };
}

/**
 * `redeploy worker` as its own process (as operators run it), configured by `vars`. Resolves once it
 * has created its worker; `stop()` shuts it down with SIGTERM (graceful).
 */
export async function startWorkerProcess(
  mods,
  vars,
  { argv = [mods.workerEntry], ready = '[redeploy] worker on task queue' } = {},
) {
  const child = execa(process.execPath, argv, {
    env: vars,
    extendEnv: false,
    stdin: 'ignore',
    stdout: 'ignore',
    buffer: false,
    reject: false,
  });
  let tail = '';
  let exited = false;
  void child.then(() => (exited = true));
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`worker did not start within 60 s:\n${tail}`)), 60_000);
    // Drained for as long as the worker lives: a full pipe would block its logging.
    child.stderr.on('data', (d) => {
      tail = (tail + d.toString()).slice(-4000);
      if (tail.includes(ready)) {
        clearTimeout(timer);
        resolve();
      }
    });
    void child.then(() => {
      clearTimeout(timer);
      reject(new Error(`worker exited before it started:\n${tail}`));
    });
  });
  return {
    pid: child.pid,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await child;
      clearTimeout(t);
    },
  };
}

/** Runs the `redeploy` CLI (the built entry) with exactly `env`; resolves with execa's result and wall time. */
export async function runCli(mods, args, env) {
  const t0 = performance.now();
  const r = await execa(process.execPath, [mods.clientEntry, ...args], {
    env,
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
  });
  return { r, ms: performance.now() - t0 };
}

/** Some facts about the machine, recorded with the numbers. */
export function machine() {
  return {
    cpus: os.cpus().length,
    cpu_model: os.cpus()[0]?.model ?? 'unknown',
    mem_gib: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

/** A Temporal client for the bench's own queries, starts and history reads. */
export async function connectClient(address) {
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/** Polls the workflow's progress query until `predicate` holds. */
export async function waitForProgress(mods, handle, predicate, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await handle.query(mods.progressQuery).catch(() => undefined);
    if (last && predicate(last)) return last;
    if (Date.now() > deadline)
      throw new Error(`state not reached in ${timeoutMs} ms: ${JSON.stringify(last)}`);
    await sleep(100);
  }
}
