import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { Connection } from '@temporalio/client';
import type { RedeployState } from '../../src/core/state.js';
import { taskQueueFor } from '../../src/core/task-queue.js';
import { loadConfig } from '../../src/io/config.js';
import { freePort } from '../../src/io/dev-server.js';
import { createWorker } from '../../src/worker.js';
import { CLIENT, redeploy } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { temporalCli, testBundle, testEnv } from '../support/temporal.js';

const readJson = async <T>(file: string): Promise<T | undefined> =>
  JSON.parse(await fs.readFile(file, 'utf8').catch(() => 'null')) as T | undefined;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

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

  it('starts a local server with a supervised background worker: a run whose CLI was killed goes on, the worker writes its state file, a killed worker is restarted, server --stop ends both', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 6 });
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
    assert.match(err, /started a background worker for task queue \S+ \(pid \d+, log .*worker\.log\)/);
    assert.match(
      out,
      new RegExp(
        `— http://127\\.0\\.0\\.1:${env['REDEPLOY_EMBEDDED_UI_PORT']}/namespaces/default/workflows/${id}`,
      ),
    );

    // No CLI attached: the background worker finishes the run and writes the legacy state file.
    const dir = path.join(h.sb.stateDir, 'temporal');
    const file = path.join(h.sb.stateDir, `${id}.json`);
    const deadline = Date.now() + 90_000;
    let mirrored: RedeployState | undefined;
    for (;;) {
      mirrored = await readJson<RedeployState>(file);
      if (mirrored?.status === 'completed') break;
      assert.ok(Date.now() < deadline, `state file not completed: ${JSON.stringify(mirrored)}`);
      await sleep(250);
    }
    assert.equal(mirrored.phases.DEPLOY.status, 'completed');
    assert.deepEqual(mirrored.pins_applied, { 'omninode-claude': '0.4.0' });
    assert.equal((await h.sb.deployedPins())['omninode-claude'], '0.4.0', 'what was deployed');
    assert.equal((await h.sb.invocationArgs('deploy')).length, 1, 'DEPLOY ran once, not again');
    const result = await readJson<{ status: string; run_id: string }>(
      path.join(h.sb.skillResultsDir, 'default', 'redeploy.json'),
    );
    assert.deepEqual([result?.status, result?.run_id], ['success', id], 'the worker wrote the skill result');
    await h.sb.clearFault('deploy');

    // The worker is supervised: killed, it comes back (a new pid in worker.log) and runs the next run.
    const workerLog = path.join(dir, 'worker.log');
    const pids = async () =>
      [...(await fs.readFile(workerLog, 'utf8')).matchAll(/worker started \(pid (\d+)\)/g)].map((m) =>
        Number(m[1]),
      );
    const [firstWorker] = await pids();
    assert.ok(firstWorker);
    process.kill(firstWorker, 'SIGKILL');
    while ((await pids()).length < 2) await sleep(200);
    assert.match(await fs.readFile(workerLog, 'utf8'), /worker exited \(SIGKILL\); restarting in 1 s/);
    const second = await redeploy(['--versions', 'omniintelligence=0.6', '--verify-only'], env);
    assert.equal(second.exitCode, 0, second.stdout + second.stderr);
    assert.doesNotMatch(
      second.stderr,
      /started a (local Temporal dev server|background worker)/,
      'both reused',
    );

    // A supervisor killed with kill -9: its worker stops on its own, and the next command starts both again.
    const killed = JSON.parse(await fs.readFile(path.join(dir, 'worker.json'), 'utf8')) as { pid: number };
    const orphan = (await pids()).at(-1) ?? 0;
    process.kill(killed.pid, 'SIGKILL');
    for (let i = 0; i < 300 && alive(orphan); i++) await sleep(100);
    assert.equal(alive(orphan), false, 'the worker of a killed supervisor stops');
    const relist = await redeploy(['list'], env);
    assert.equal(relist.exitCode, 0, relist.stdout + relist.stderr);
    assert.match(relist.stderr, /started a background worker/);
    assert.doesNotMatch(relist.stderr, /started a local Temporal dev server/);

    // The history outlives the server: stop both, and the next command starts them again from the same file.
    const db = path.join(dir, 'temporal.db');
    assert.ok((await fs.stat(db)).size > 0);
    const supervisor = JSON.parse(await fs.readFile(path.join(dir, 'worker.json'), 'utf8')) as {
      pid: number;
    };
    const stop = await redeploy(['server', '--stop'], env);
    assert.match(
      stop.stdout,
      /^stopped the background worker \(pid \d+\); stopped the local Temporal dev server \(pid \d+\); its history stays in /,
    );
    for (const pid of [supervisor.pid, ...(await pids())])
      assert.equal(alive(pid), false, `pid ${pid} stopped`);
    const status = await redeploy(['status', id], env);
    assert.equal(status.exitCode, 0, status.stdout + status.stderr);
    assert.match(status.stderr, /started a local Temporal dev server/);
    assert.match(status.stderr, /started a background worker/);
    assert.match(status.stdout, new RegExp(`^${id}: completed`, 'm'));
  });

  it('status, report, list and watch add no poller to the task queue', async () => {
    const r = await redeploy(['--versions', 'omniintelligence=0.6', '--verify-only'], env);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const id = runIdOf(r.stdout);
    const connection = await Connection.connect({ address: `127.0.0.1:${env['REDEPLOY_EMBEDDED_PORT']}` });
    const pollers = async () => {
      const ids = new Set<string>();
      for (const taskQueueType of [1, 2]) {
        const d = await connection.workflowService.describeTaskQueue({
          namespace: 'default',
          taskQueue: { name: h.taskQueue },
          taskQueueType,
        });
        for (const p of d.pollers ?? []) ids.add(`${taskQueueType}:${p.identity ?? ''}`);
      }
      return [...ids].sort();
    };
    try {
      const before = await pollers();
      assert.ok(before.length >= 2, `the background worker polls: ${before.join(', ')}`);
      for (const args of [['status', id], ['report', id], ['list'], ['watch', id]]) {
        const c = await redeploy(args, env);
        assert.equal(c.exitCode, 0, `${args.join(' ')}: ${c.stdout}${c.stderr}`);
      }
      assert.deepEqual(await pollers(), before, 'no new poller');
    } finally {
      await connection.close();
    }
  });

  it('a run with other settings than the background worker was started with is refused (exit 2); reads are not', async () => {
    const l = await redeploy(['list'], env); // the server and its background worker, as started with `env`
    assert.equal(l.exitCode, 0, l.stdout + l.stderr);
    const elsewhere = path.join(h.sb.root, 'another-omni-home');
    await fs.mkdir(elsewhere, { recursive: true });
    const other = { ...env, OMNI_HOME: elsewhere };
    const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-sync'], other);
    assert.equal(r.exitCode, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /background worker .* was started with other settings \(omniHome\)/);
    assert.match(r.stderr, /server --stop/);
    assert.doesNotMatch(r.stdout, /redeploy-\d{8}-[0-9a-f]{6} — /, 'no run started');
    const again = await redeploy(['list'], other);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
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
