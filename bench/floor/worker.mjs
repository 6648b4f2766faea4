// The floor's worker, in its own process like `redeploy worker`: the SDK's Worker with the floor workflow
// and activities, nothing else. usage: node worker.mjs ADDRESS TASK_QUEUE  (prints "floor worker ready")
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { DefaultLogger, NativeConnection, Runtime, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { activities } from './activities.mjs';

const [address, taskQueue] = process.argv.slice(2);
Runtime.install({ logger: new DefaultLogger('ERROR') });
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
// Bundled once at start (not timed by any measure), as our worker's prebuilt bundle is.
const bundle = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('./workflow.js', import.meta.url)),
  logger: quiet,
});
const connection = await NativeConnection.connect({ address });
const worker = await Worker.create({ connection, taskQueue, workflowBundle: bundle, activities });
process.on('SIGTERM', () => worker.shutdown());
const running = worker.run();
process.stderr.write('floor worker ready\n');
await running;
await connection.close();
