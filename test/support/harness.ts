import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import type { Worker } from '@temporalio/worker';
import { execa, type ResultPromise } from 'execa';
import { loadConfig, type Config } from '../../src/io/config.js';
import type { RedeployInput, RedeployState } from '../../src/core/state.js';
import type { Phase } from '../../src/core/phases.js';
import { createWorker } from '../../src/worker.js';
import { targetLockId } from '../../src/core/target-lock.js';
import { redeploy } from '../../src/workflows/index.js';
import { progressQuery } from '../../src/workflows/messages.js';
import { createSandbox, type Sandbox, type SandboxOptions } from './sandbox.js';
import { testBundle, testEnv, uniqueTaskQueue } from './temporal.js';

/** The REDEPLOY_* variables that point redeploy at a sandbox (used for in-process and subprocess workers). */
export function sandboxVars(
  sb: Sandbox,
  address: string,
  taskQueue: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...sb.env,
    OMNI_HOME: sb.omniHome,
    REDEPLOY_WORKTREE_ROOT: sb.worktreeRoot,
    REDEPLOY_ENV_FILE: sb.envFile,
    REDEPLOY_STATE_DIR: sb.stateDir,
    REDEPLOY_SKILL_RESULTS_DIR: sb.skillResultsDir,
    REDEPLOY_DEPLOY_ROOT: sb.deployRoot,
    // Today's worktree names its ports (runtime-policy.env, the env file): VERIFY derives its endpoints.
    ...(sb.profile === '2025' ? { REDEPLOY_HEALTH_ENDPOINTS: JSON.stringify(sb.health.endpoints) } : {}),
    REDEPLOY_VERIFY_TIMEOUT: '8s',
    REDEPLOY_SLACK_API_URL: sb.slack.apiUrl,
    REDEPLOY_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: address,
    ...extra,
  };
}

let counter = 0;
/** A run id of the seed's shape, unique per test. */
export function newRunId(): string {
  const hex = (Date.now() * 1000 + process.pid * 7 + counter++).toString(16).slice(-6).padStart(6, '0');
  return `redeploy-20261125-${hex}`;
}

export const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };

/** A full run's input for a test task queue (every phase, the test versions), with overrides. */
export function redeployInput(taskQueue: string, overrides: Partial<RedeployInput> = {}): RedeployInput {
  const runId = overrides.runId ?? newRunId();
  return {
    runId,
    worktreeTicket: runId,
    versions: VERSIONS,
    flags: { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
    startedBy: 'test@sandbox',
    // One lock per test task queue, as the CLI does per host: test files never wait for each other.
    lockId: targetLockId(taskQueue),
    ...overrides,
  };
}

const WORKER_ENTRY = new URL('../../src/worker.js', import.meta.url).pathname;

/** `node dist/src/worker.js` (what `redeploy worker` runs) as its own process, with exactly `vars`. */
export function spawnWorkerProcess(
  vars: Record<string, string>,
  opts: { all?: boolean } = {},
): ResultPromise {
  return execa(process.execPath, [WORKER_ENTRY], {
    env: vars,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    ...(opts.all ? { all: true } : {}),
  });
}

/** What runs in a process group: `ps` lines of `pid args`. */
export async function groupProcesses(pgid: number): Promise<string> {
  return (await execa('ps', ['-o', 'pid=,args=', '-g', String(pgid)], { reject: false })).stdout;
}

/**
 * Waits until the phase's current command has a `sleep` in its process group (the slow part of a
 * stand-in or hook) and returns that group, from `<PHASE>.pgid`, which the activity writes per command.
 * `slow`: another `ps` line to wait for instead, e.g. a `git fetch` held by test/support/slow-origin.ts.
 */
export async function sleepingGroup(
  logDir: string,
  runId: string,
  phase: Phase,
  timeoutMs = 60_000,
  slow = /^\s*\d+ sleep /m,
): Promise<number> {
  const file = path.join(logDir, runId, `${phase}.pgid`);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pgid = Number(await fs.readFile(file, 'utf8').catch(() => '0'));
    if (pgid > 1 && slow.test(await groupProcesses(pgid))) return pgid;
    if (Date.now() > deadline) throw new Error(`${phase}: no ${String(slow)} command within ${timeoutMs} ms`);
    await sleep(100);
  }
}

export interface Harness {
  sb: Sandbox;
  config: Config;
  client: Client;
  taskQueue: string;
  address: string;
  vars: Record<string, string>;
  start(overrides?: Partial<RedeployInput>): Promise<WorkflowHandle<typeof redeploy>>;
  startWorker(): Promise<void>;
  stopWorker(): Promise<void>;
  close(): Promise<void>;
}

export async function createHarness(
  name: string,
  opts: { sandbox?: SandboxOptions; vars?: Record<string, string>; worker?: boolean } = {},
): Promise<Harness> {
  const env = await testEnv();
  const sb = await createSandbox(opts.sandbox);
  const taskQueue = uniqueTaskQueue(name);
  const address = env.connection.options.address ?? process.env['REDEPLOY_TEST_TEMPORAL_ADDRESS'] ?? '';
  const vars = sandboxVars(sb, address, taskQueue, opts.vars);
  const config = loadConfig(vars);
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  const h: Harness = {
    sb,
    config,
    client: env.client,
    taskQueue,
    address,
    vars,
    async start(overrides = {}) {
      const input = redeployInput(taskQueue, overrides);
      return env.client.workflow.start(redeploy, { taskQueue, workflowId: input.runId, args: [input] });
    },
    async startWorker() {
      worker = await createWorker({
        config,
        connection: env.nativeConnection,
        taskQueue,
        bundle: await testBundle(),
        deps: { baseEnv: sb.env },
      });
      running = worker.run();
    },
    async stopWorker() {
      if (worker && worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      worker = undefined;
    },
    async close() {
      await h.stopWorker();
      await sb.close();
    },
  };
  if (opts.worker !== false) await h.startWorker();
  return h;
}

export async function progress(handle: WorkflowHandle): Promise<RedeployState> {
  return handle.query(progressQuery);
}

/** Polls the progress query until `predicate` holds; fails with the last state seen. */
export async function waitForState(
  handle: WorkflowHandle,
  predicate: (s: RedeployState) => boolean,
  timeoutMs = 60_000,
): Promise<RedeployState> {
  const deadline = Date.now() + timeoutMs;
  let last: RedeployState | undefined;
  for (;;) {
    try {
      last = await progress(handle);
      if (predicate(last)) return last;
    } catch {
      // not yet queryable (first workflow task not done)
    }
    if (Date.now() > deadline) {
      throw new Error(
        `state predicate not met within ${timeoutMs} ms; last state: ${JSON.stringify(last, null, 2)}`,
      );
    }
    await sleep(150);
  }
}

export const waitingOn = (phase: Phase) => (s: RedeployState) =>
  s.status === 'waiting_for_decision' && s.pending_decision?.phase === phase;

/** Real invocations of a phase's activity, counted from the attempt lines it writes to its log. */
export function activityRuns(h: Harness, runId: string, phase: Phase): Promise<number> {
  return phaseRuns(h.config.logDir, runId, phase);
}

/** The same count from a worker's REDEPLOY_LOG_DIR (for workers in other processes). */
export async function phaseRuns(logDir: string, runId: string, phase: Phase): Promise<number> {
  const text = await fs.readFile(path.join(logDir, runId, `${phase}.log`), 'utf8').catch(() => '');
  return text.split('\n').filter((l) => new RegExp(`^\\[redeploy\\] ${phase} attempt \\d+ started`).test(l))
    .length;
}

/**
 * With REDEPLOY_RECORD_HISTORIES=1, exports a finished run's history (as `temporal workflow show
 * --output json` prints it) into test/fixtures/histories/, for the replay test to keep in CI.
 */
export async function recordHistory(h: Harness, workflowId: string, name: string): Promise<void> {
  if (!process.env['REDEPLOY_RECORD_HISTORIES']) return;
  const { temporalCli } = await import('./temporal.js');
  const out = await execa(await temporalCli(), [
    'workflow',
    'show',
    '--address',
    h.address,
    '--workflow-id',
    workflowId,
    '--output',
    'json',
  ]);
  const dir = new URL('../../../test/fixtures/histories/', import.meta.url).pathname;
  await fs.mkdir(dir, { recursive: true });
  await fs.writeFile(path.join(dir, `${name}.json`), `${out.stdout}\n`);
}
