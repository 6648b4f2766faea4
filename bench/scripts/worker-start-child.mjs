// One worker start in a fresh process (as `redeploy worker` starts), timed from just before the workflow
// code is obtained until the worker runs. Connecting to Temporal happens before the clock starts: it is
// the same for both modes.
//
// usage: node worker-start-child.mjs DIST_DIR ADDRESS prebuilt|bundle
// prints: {"ms": <number>, "state": "RUNNING", "bundle": "codePath" | "code"}
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, bundleWorkflowCode } from '@temporalio/worker';

const [dist, address, mode] = process.argv.slice(2);
const load = (rel) => import(pathToFileURL(path.join(dist, rel)).href);
const { createWorker, workflowBundle, WORKFLOWS_PATH } = await load('src/worker.js');
const { loadConfig } = await load('src/io/config.js');

Runtime.install({ logger: new DefaultLogger('ERROR') });
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const taskQueue = `bench-worker-start-${process.pid}`;
const config = loadConfig({ ...process.env, TEMPORAL_ADDRESS: address, REDEPLOY_TASK_QUEUE: taskQueue });
const connection = await NativeConnection.connect({ address });

const t0 = performance.now();
// prebuilt: what src/worker.ts does (dist/workflow-bundle.js when present); bundle: webpack at start.
const bundle =
  mode === 'prebuilt'
    ? await workflowBundle()
    : await bundleWorkflowCode({ workflowsPath: WORKFLOWS_PATH, logger: quiet });
const worker = await createWorker({ config, connection, taskQueue, bundle });
const running = worker.run();
const state = worker.getState();
const ms = performance.now() - t0;

worker.shutdown();
await running;
await connection.close();
process.stdout.write(
  `${JSON.stringify({ ms, state, bundle: 'codePath' in bundle ? 'codePath' : 'code' })}\n`,
);
