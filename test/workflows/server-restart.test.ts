// The Temporal server itself restarts mid-run: a private dev server with a database file is stopped
// during DEPLOY and started again on the same ports with the same file. The worker (`node
// dist/src/worker.js`, what `redeploy worker` runs) and the client reconnect on their own; the run
// completes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { Client, Connection } from '@temporalio/client';
import { PHASES } from '../../src/core/phases.js';
import { redeploy } from '../../src/workflows/index.js';
import { freePort, startDevServer, type DevServer } from '../../src/io/dev-server.js';
import { findTemporalCli } from '../../src/io/temporal-cli.js';
import {
  groupProcesses,
  redeployInput,
  sandboxVars,
  sleepingGroup,
  spawnWorkerProcess,
  VERSIONS,
  waitForState,
} from '../support/harness.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { uniqueTaskQueue } from '../support/temporal.js';

async function reachable(address: string): Promise<boolean> {
  try {
    const c = await Connection.connect({ address, connectTimeout: '2s' });
    await c.workflowService.getSystemInfo({});
    await c.close();
    return true;
  } catch {
    return false;
  }
}

describe('a Temporal server restart', () => {
  let dir: string;
  let sb: Sandbox;
  let server: DevServer | undefined;
  let worker: ResultPromise | undefined;
  let connection: Connection | undefined;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-server-restart-'));
    sb = await createSandbox();
  });
  after(async () => {
    await connection?.close();
    worker?.kill('SIGTERM');
    await worker;
    await server?.stop();
    await sb.close();
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('during DEPLOY: the same worker and client reconnect to the restarted server and the run completes', async () => {
    const cli = process.env['REDEPLOY_TEST_TEMPORAL_CLI'] ?? (await findTemporalCli());
    // A private server (not the suite's shared one): its own free ports and a database file.
    const opts = {
      cli,
      port: await freePort(),
      uiPort: await freePort(),
      dbFile: path.join(dir, 'temporal.db'),
    };
    server = await startDevServer(opts);
    const taskQueue = uniqueTaskQueue('server-restart');
    const vars = sandboxVars(sb, server.address, taskQueue);
    const logDir = path.join(sb.stateDir, 'logs');
    await sb.setFault('deploy', { sleepSeconds: 300 }); // a build that lasts until the test ends it

    worker = spawnWorkerProcess(vars, { all: true });
    connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection, namespace: 'default' });
    const input = redeployInput(taskQueue);
    const runId = input.runId;
    const handle = await client.workflow.start(redeploy, { taskQueue, workflowId: runId, args: [input] });
    await waitForState(handle, (s) => s.phases.DEPLOY.status === 'running', 90_000);
    const group = await sleepingGroup(logDir, runId, 'DEPLOY'); // the build is under way
    // Asked before the restart: this call has to survive it.
    const result = handle.result();
    result.catch(() => undefined); // awaited below (raced with the worker's exit)

    const address = server.address;
    await server.stop();
    server = undefined;
    assert.equal(await reachable(address), false, 'the server is down');
    server = await startDevServer(opts);
    assert.equal(server.address, address, 'same address');

    // The build ends after the restart (no fault for a re-attempt either).
    await sb.clearFault('deploy');
    const build = /^\s*(\d+) sleep /m.exec(await groupProcesses(group))?.[1];
    if (build) process.kill(Number(build), 'SIGTERM');

    // A worker that gave up while the server was away fails the test at once, with its output.
    const workerExit = worker.then((r) =>
      assert.fail(`the worker exited (${r.exitCode ?? r.signal}) instead of reconnecting:\n${String(r.all)}`),
    );
    const state = await Promise.race([result, workerExit]);
    assert.equal(state.status, 'completed');
    for (const p of PHASES) {
      assert.equal(state.phases[p].status, p === 'INFISICAL' ? 'skipped_no_infisical' : 'completed', p);
    }
    assert.equal(worker.exitCode, null, 'the worker started before the restart is still running');
    assert.equal(worker.signalCode, null);
    // The history from before the restart came back from the database file.
    const { events } = await handle.fetchHistory();
    assert.ok(
      (events ?? []).some((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'sync'),
      'SYNC, run before the restart, is in the history',
    );
    const deployed = await sb.deployedPins();
    assert.deepEqual(
      Object.keys(VERSIONS).map((k) => deployed[k]),
      Object.values(VERSIONS),
    );
  });
});
