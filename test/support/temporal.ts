import { randomUUID } from 'node:crypto';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { bundleWorkflowCode, DefaultLogger, Runtime, type WorkflowBundleOption } from '@temporalio/worker';
import { findTemporalCli } from '../../src/io/temporal-cli.js';
import { startDevServer, type DevServer } from '../../src/io/dev-server.js';
import { WORKFLOWS_PATH, WORKFLOW_INTERCEPTORS } from '../../src/worker.js';

/**
 * The real Temporal dev server for tests. `npm test` starts one per run and passes its address;
 * a test file run on its own starts a private one.
 */
let shared: Promise<{ env: TestWorkflowEnvironment; server?: DevServer; cli: string }> | undefined;

export async function testEnv(): Promise<TestWorkflowEnvironment> {
  return (await setup()).env;
}

export async function temporalCli(): Promise<string> {
  return (await setup()).cli;
}

function setup() {
  shared ??= (async () => {
    // Expected activity failures would flood the output; tests assert on the state instead.
    Runtime.install({ logger: new DefaultLogger('ERROR') });
    const cli = process.env['REDEPLOY_TEST_TEMPORAL_CLI'] ?? (await findTemporalCli());
    let address = process.env['REDEPLOY_TEST_TEMPORAL_ADDRESS'];
    let server: DevServer | undefined;
    if (!address) {
      server = await startDevServer({ cli });
      address = server.address;
    }
    const env = await TestWorkflowEnvironment.createFromExistingServer({ address, namespace: 'default' });
    return { env, cli, ...(server ? { server } : {}) };
  })();
  return shared;
}

export async function teardownTestEnv(): Promise<void> {
  if (!shared) return;
  const { env, server } = await shared;
  shared = undefined;
  await env.teardown();
  await server?.stop();
}

let bundle: Promise<WorkflowBundleOption> | undefined;
/** Bundled once per test process: webpack costs about a second. */
export function testBundle(): Promise<WorkflowBundleOption> {
  bundle ??= bundleWorkflowCode({
    workflowsPath: WORKFLOWS_PATH,
    workflowInterceptorModules: WORKFLOW_INTERCEPTORS,
    logger: { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} },
  }).then(({ code }) => ({ code }));
  return bundle;
}

export function uniqueTaskQueue(name: string): string {
  return `test-${name}-${randomUUID().slice(0, 8)}`;
}
