import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client } from '@temporalio/client';
import {
  Runtime,
  Worker,
  bundleWorkflowCode,
  type ActivityInterceptorsFactory,
  type NativeConnection,
  type WorkflowBundleOption,
} from '@temporalio/worker';
import { createActivities, type ActivityDeps } from './activities/index.js';
import { loadConfig, type Config } from './io/config.js';
import { CliError } from './core/errors.js';
import { taskQueueFor } from './core/task-queue.js';
import { SEARCH_ATTRIBUTES } from './core/search-attributes.js';
import { connectWorker } from './io/temporal.js';
import { mirrorSinks } from './io/mirror-sink.js';
import { METRICS_ENV, installMetrics, metricsAddress, phaseMetrics, watchDecisions } from './io/metrics.js';

export const WORKFLOWS_PATH = fileURLToPath(new URL('./workflows/index.js', import.meta.url));
/**
 * Bundled with the workflows: counts how runs end (`redeploy_runs_total`; emits metrics only), and shows a
 * run's state once per activation (workflows/conclude.ts).
 */
export const WORKFLOW_INTERCEPTORS = [
  fileURLToPath(new URL('./workflows/metrics.js', import.meta.url)),
  fileURLToPath(new URL('./workflows/conclude.js', import.meta.url)),
];
/** Written by `npm run build`; start-up drops from ~0.9 s (bundling) to ~0.1 s when it is present. */
export const PREBUILT_BUNDLE = fileURLToPath(new URL('../workflow-bundle.js', import.meta.url));

export async function workflowBundle(): Promise<WorkflowBundleOption> {
  if (fs.existsSync(PREBUILT_BUNDLE)) return { codePath: PREBUILT_BUNDLE };
  return bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTORS,
    logger: quietLogger,
  });
}

const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

/**
 * The workflow upserts RedeployPhase; on a server without it every workflow task would fail. Register it
 * where we may (dev server), else stop with the command an operator runs once per namespace.
 */
export async function ensureSearchAttributes(connection: NativeConnection, namespace: string): Promise<void> {
  const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace });
  const missing = Object.keys(SEARCH_ATTRIBUTES).filter((name) => !(name in (customAttributes ?? {})));
  if (missing.length === 0) return;
  try {
    await connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((name) => [name, 2 /* INDEXED_VALUE_TYPE_KEYWORD */])),
    });
  } catch (err) {
    throw new Error(
      `Search attribute ${missing.join(', ')} is not registered in namespace ${namespace} and could not be added ` +
        `(${(err as Error).message}). Register it once:\n` +
        missing
          .map(
            (n) =>
              `  temporal operator search-attribute create --namespace ${namespace} --name ${n} --type Keyword`,
          )
          .join('\n'),
    );
  }
}

export interface WorkerOptions {
  config: Config;
  connection: NativeConnection;
  taskQueue?: string;
  deps?: ActivityDeps;
  bundle?: WorkflowBundleOption;
  /** Activity interceptors (the phase metrics of `--metrics`). */
  activityInterceptors?: ActivityInterceptorsFactory[];
}

export async function createWorker(opts: WorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.config.temporal.namespace,
    taskQueue: opts.taskQueue ?? opts.config.taskQueue,
    workflowBundle: opts.bundle ?? (await workflowBundle()),
    activities: createActivities({ config: opts.config, ...opts.deps }),
    // The host's legacy state file and skill result follow every change, written here (workflows/mirror.ts).
    sinks: mirrorSinks(opts.config, { warn: (m, meta) => Runtime.instance().logger.warn(m, meta) }),
    ...(opts.activityInterceptors ? { interceptors: { activity: opts.activityInterceptors } } : {}),
    // Heartbeats reach the server at least every 3 s (the SDK default is 80% of the heartbeat timeout),
    // so DEPLOY's 20 s heartbeat timeout survives a slow event loop yet still spots a dead worker fast.
    maxHeartbeatThrottleInterval: '3s',
    defaultHeartbeatThrottleInterval: '3s',
  });
}

/**
 * `redeploy worker` / `node dist/src/worker.js`: runs until SIGINT/SIGTERM (graceful shutdown). With
 * `metrics` (`--metrics`, else REDEPLOY_METRICS) it serves Prometheus metrics on that host:port.
 */
export async function runWorker(target?: string, opts: { metrics?: string } = {}): Promise<void> {
  const config = loadConfig();
  // One task queue per runtime host: runs started with --target <host> come to this worker only.
  const taskQueue = taskQueueFor(config.taskQueue, target);
  const fromEnv = process.env[METRICS_ENV];
  const metrics = opts.metrics ?? (fromEnv ? metricsAddress(fromEnv, METRICS_ENV) : undefined);
  // Before the first connection: the runtime (and its exporter) is fixed once per process.
  if (metrics) await installMetrics(metrics);
  const connection = await connectWorker(config);
  let stopWatching: (() => Promise<void>) | undefined;
  try {
    await ensureSearchAttributes(connection, config.temporal.namespace);
    const meter = Runtime.instance().metricMeter;
    const worker = await createWorker({
      config,
      connection,
      taskQueue,
      deps: {},
      ...(metrics ? { activityInterceptors: [phaseMetrics(meter)] } : {}),
    });
    if (metrics) {
      const client = new Client({ connection, namespace: config.temporal.namespace });
      stopWatching = watchDecisions(client, taskQueue, meter);
    }
    process.stderr.write(
      `[redeploy] worker on task queue ${taskQueue} (Temporal ${config.temporal.address}, namespace ${config.temporal.namespace})` +
        (metrics ? `; Prometheus metrics on http://${metrics}/metrics` : '') +
        '\n',
    );
    // Under zero-setup mode's supervisor: a worker whose supervisor was killed (kill -9) stops too,
    // rather than run on beside the next supervisor's worker, out of `redeploy server --stop`'s reach.
    const supervisor = Number(process.env['REDEPLOY_SUPERVISOR_PID']);
    const orphaned =
      supervisor > 0
        ? setInterval(() => {
            if (process.ppid !== supervisor && worker.getState() === 'RUNNING') worker.shutdown();
          }, 1000)
        : undefined;
    try {
      await worker.run();
    } finally {
      clearInterval(orphaned);
    }
  } finally {
    await stopWatching?.();
    await connection.close();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  runWorker().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(err instanceof CliError ? err.exitCode : 1);
  });
}
