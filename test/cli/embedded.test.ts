import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { taskQueueFor } from '../../src/core/task-queue.js';
import { loadConfig } from '../../src/io/config.js';
import { freePort } from '../../src/io/dev-server.js';
import { createWorker } from '../../src/worker.js';
import { CLIENT, redeploy } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { temporalCli, testBundle, testEnv } from '../support/temporal.js';

const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';

describe('zero-setup local mode and --target routing', { concurrency: 1 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await createHarness('embedded', { worker: false });
    const { TEMPORAL_ADDRESS: _configured, ...rest } = h.vars;
    env = {
      ...rest,
      TEMPORAL_CLI: await temporalCli(),
      REDEPLOY_EMBEDDED_PORT: String(await freePort()),
      REDEPLOY_EMBEDDED_UI_PORT: String(await freePort()),
    };
  });
  after(async () => {
    await redeploy(['server', '--stop'], env);
    await h.close();
  });

  it('starts a local server and an in-process worker; a killed CLI run is finished by --resume from a new process', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 60 });
    const first = execa(process.execPath, [CLIENT, '--versions', 'omninode-claude=0.4.0', '--skip-sync'], {
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    let out = '';
    let err = '';
    first.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    first.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    while (!/\[redeploy\] DEPLOY started/.test(out)) {
      assert.equal(first.exitCode, null, `the CLI ended early:\n${out}\n${err}`);
      await sleep(100);
    }
    first.kill('SIGKILL');
    await first;
    const id = runIdOf(out);
    assert.match(
      err,
      new RegExp(
        `started a local Temporal dev server on 127\\.0\\.0\\.1:${env['REDEPLOY_EMBEDDED_PORT']} \\(pid \\d+, history in .*temporal\\.db`,
      ),
    );
    assert.match(
      out,
      new RegExp(
        `— http://127\\.0\\.0\\.1:${env['REDEPLOY_EMBEDDED_UI_PORT']}/namespaces/default/workflows/${id}`,
      ),
    );
    await h.sb.clearFault('deploy');

    const resumed = await redeploy(['--resume', id], env);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`^Resuming ${id}: still running, attaching$`, 'm'));
    assert.match(resumed.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));
    assert.doesNotMatch(
      resumed.stderr,
      /started a local Temporal dev server/,
      'the running server is reused',
    );
    assert.ok((await h.sb.invocationArgs('deploy')).at(-1)?.includes('--force'));

    // The history outlives the server: stop it, and the next command starts it again from the same file.
    const db = path.join(h.sb.stateDir, 'temporal', 'temporal.db');
    assert.ok((await fs.stat(db)).size > 0);
    const stop = await redeploy(['server', '--stop'], env);
    assert.match(stop.stdout, /^stopped the local Temporal dev server \(pid \d+\); its history stays in /);
    const status = await redeploy(['status', id], env);
    assert.equal(status.exitCode, 0, status.stdout + status.stderr);
    assert.match(status.stderr, /started a local Temporal dev server/);
    assert.match(status.stdout, new RegExp(`^${id}: completed`, 'm'));
  });

  it('--target routes a run to the worker of that host (one task queue per host)', async () => {
    const shared = await testEnv();
    const queues = {
      'host-a': taskQueueFor(h.taskQueue, 'host-a'),
      'host-b': taskQueueFor(h.taskQueue, 'host-b'),
    };
    const logDirs = { 'host-a': path.join(h.sb.root, 'logs-a'), 'host-b': path.join(h.sb.root, 'logs-b') };
    const workers = await Promise.all(
      (['host-a', 'host-b'] as const).map(async (host) =>
        createWorker({
          config: loadConfig({ ...h.vars, REDEPLOY_LOG_DIR: logDirs[host] }),
          connection: shared.nativeConnection,
          taskQueue: queues[host],
          bundle: await testBundle(),
          deps: { baseEnv: h.sb.env },
        }),
      ),
    );
    const running = workers.map((w) => w.run());
    try {
      for (const host of ['host-a', 'host-b'] as const) {
        const r = await redeploy(
          ['--versions', 'omniintelligence=0.6', '--verify-only', '--target', host],
          h.vars,
        );
        assert.equal(r.exitCode, 0, r.stdout + r.stderr);
        const id = runIdOf(r.stdout);
        assert.equal((await h.client.workflow.getHandle(id).describe()).taskQueue, queues[host]);
        const other = host === 'host-a' ? 'host-b' : 'host-a';
        await fs.stat(path.join(logDirs[host], id, 'VERIFY.log'));
        await assert.rejects(fs.stat(path.join(logDirs[other], id)), `${other}'s worker did not run ${id}`);
      }
      const bad = await redeploy(['--versions', 'a=1', '--target', 'host a'], h.vars);
      assert.equal(bad.exitCode, 2);
      assert.match(bad.stderr, /--target "host a" is not a host name/);
    } finally {
      for (const w of workers) w.shutdown();
      await Promise.all(running);
    }
  });
});
