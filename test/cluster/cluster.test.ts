// The scale-out path for real: a two-node temporal-server 1.29.1 cluster on PostgreSQL with mTLS
// (test/support/cluster.ts), two runtime hosts = two sandboxes, each with its own
// `redeploy worker --target hostA|hostB` process, connected only through the standard TEMPORAL_*
// variables. Run by `npm run test:cluster` (.ci/run), not `npm test`: a cluster is too heavy to share
// two cores with the rest of the suite.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { loadConfig } from '../../src/io/config.js';
import { findTemporalServer } from '../../src/io/temporal-server.js';
import { CLIENT, redeploy } from '../support/cli.js';
import { clientTlsEnv, makeCerts, startCluster, type Cluster } from '../support/cluster.js';
import { phaseRuns, sandboxVars } from '../support/harness.js';
import { postgresBinDir } from '../support/postgres.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { PHASES } from '../../src/core/phases.js';

// Skipped only when the server cannot be had at all (no Go, build failure): said in the test output.
const missing = await findTemporalServer().then(
  () => (postgresBinDir() ? undefined : 'PostgreSQL is not installed (apt-get install postgresql)'),
  (err: Error) => err.message,
);

const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';
const HOSTS = ['hostA', 'hostB'] as const;
type Host = (typeof HOSTS)[number];

interface HostSide {
  sb: Sandbox;
  env: Record<string, string>;
  logDir: string;
  worker?: ResultPromise;
  workerOut: string;
}

/** `redeploy worker --target <host>` as its own process; resolves once it polls its task queue. */
async function startWorker(side: HostSide, host: Host): Promise<void> {
  side.workerOut = '';
  const w = execa(process.execPath, [CLIENT, 'worker', '--target', host], {
    env: side.env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  w.all?.on('data', (d: Buffer) => (side.workerOut += d.toString()));
  side.worker = w;
  const deadline = Date.now() + 60_000;
  while (!/\[redeploy\] worker on task queue /.test(side.workerOut)) {
    if (w.exitCode !== null || Date.now() > deadline)
      throw new Error(`worker for ${host} did not start:\n${side.workerOut}`);
    await sleep(100);
  }
}

/** Follows a CLI subprocess's stdout until `pattern` appears. */
async function untilOutput(p: ResultPromise, pattern: RegExp, timeoutMs = 120_000): Promise<string> {
  let out = '';
  p.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  const deadline = Date.now() + timeoutMs;
  while (!pattern.test(out)) {
    if (p.exitCode !== null || Date.now() > deadline) {
      const r = await p;
      throw new Error(`no ${pattern} in the CLI's output:\n${out}\n${String(r.stderr)}`);
    }
    await sleep(100);
  }
  return out;
}

describe(
  'redeploy on a two-node Temporal cluster (PostgreSQL, mTLS)',
  { concurrency: 1, skip: missing },
  () => {
    let cluster: Cluster;
    const sides = {} as Record<Host, HostSide>;

    before(
      async () => {
        cluster = await startCluster();
        const queue = `cluster-${randomUUID().slice(0, 8)}`;
        for (const host of HOSTS) {
          const sb = await createSandbox();
          const env = sandboxVars(sb, cluster.proxy.address, queue, cluster.clientEnv);
          sides[host] = { sb, env, logDir: loadConfig(env).logDir, workerOut: '' };
          await startWorker(sides[host], host);
        }
      },
      { timeout: 900_000 }, // the first run builds temporal-server (minutes)
    );

    after(async () => {
      for (const side of Object.values(sides)) {
        side.worker?.kill('SIGTERM');
        await side.worker;
        await side.sb.close();
      }
      await cluster?.close();
    });

    it('runs two redeploys at once, one per host, each on its own host’s worker; each host deploys its own pins', async (t) => {
      const t0 = Date.now();
      const versions: Record<Host, string> = {
        hostA: 'omninode-claude=0.4.0',
        hostB: 'omniintelligence=0.8.0',
      };
      const results = await Promise.all(
        HOSTS.map((host) => redeploy(['--versions', versions[host], '--target', host], sides[host].env)),
      );
      t.diagnostic(`two full runs at once: ${Date.now() - t0} ms`);
      for (const [i, host] of HOSTS.entries()) {
        const r = results[i]!;
        assert.equal(r.exitCode, 0, `${host}:\n${r.stdout}\n${r.stderr}`);
        const id = runIdOf(r.stdout);
        assert.match(r.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));
        const other = host === 'hostA' ? 'hostB' : 'hostA';
        // Every phase that ran, ran on this host's worker, once; none on the other's.
        for (const phase of ['SYNC', 'WORKTREE', 'PIN_UPDATE', 'DEPLOY', 'VERIFY'] as const) {
          assert.equal(await phaseRuns(sides[host].logDir, id, phase), 1, `${host} ${phase}`);
        }
        assert.ok(!fs.existsSync(`${sides[other].logDir}/${id}`), `${other}'s worker ran nothing of ${id}`);
      }
      // Each host deployed what its own Dockerfile now pins: its request, and none of the other's.
      const deployed = {
        hostA: await sides.hostA.sb.deployedPins(),
        hostB: await sides.hostB.sb.deployedPins(),
      };
      const shown = JSON.stringify(deployed);
      assert.equal(deployed.hostA['omninode-claude'], '0.4.0', shown);
      assert.equal(deployed.hostA['omniintelligence'], '0.6.0', `hostA keeps its Dockerfile's pin: ${shown}`);
      assert.equal(deployed.hostB['omniintelligence'], '0.8.0', shown);
      assert.notEqual(deployed.hostB['omninode-claude'], '0.4.0', shown);
      assert.equal(await sides.hostA.sb.invocations('deploy'), 1);
      assert.equal(await sides.hostB.sb.invocations('deploy'), 1);
    });

    it('refuses a client without a certificate, or with another CA’s, with a clear message (no stack trace)', async () => {
      const other = await makeCerts('redeploy-other-ca-');
      try {
        const base = { ...sides.hostA.env };
        for (const k of Object.keys(clientTlsEnv(''))) delete base[k];
        const cases: [string, Record<string, string>][] = [
          ['no TLS at all', base],
          [
            'TLS without a client certificate',
            {
              ...base,
              TEMPORAL_TLS: 'true',
              TEMPORAL_TLS_SERVER_NAME: 'temporal',
              TEMPORAL_TLS_SERVER_CA_CERT_PATH: `${cluster.certsDir}/ca.pem`,
            },
          ],
          [
            'a client certificate from another CA',
            {
              ...base,
              ...clientTlsEnv(other),
              TEMPORAL_TLS_SERVER_CA_CERT_PATH: `${cluster.certsDir}/ca.pem`,
            },
          ],
        ];
        const refused: string[] = [];
        for (const [what, env] of cases) {
          const r = await redeploy(['list'], env);
          refused.push(r.stderr);
          assert.equal(r.exitCode, 1, `${what}: ${r.stdout}${r.stderr}`);
          assert.match(r.stderr, /^redeploy: Temporal at 127\.0\.0\.1:\d+ refused the connection/m, what);
          assert.doesNotMatch(r.stderr, /^\s+at /m, `${what}: no stack trace`);
        }
        assert.match(refused[0]!, /probably requires TLS/);
        assert.match(refused[1]!, /requires a client certificate/);
        assert.match(refused[2]!, /does not accept this client certificate/);
        // A worker is refused the same way, and stops at once.
        const worker = await redeploy(['worker', '--target', 'hostA'], cases[1]![1]);
        assert.equal(worker.exitCode, 1);
        assert.match(
          worker.stderr,
          /^redeploy: Temporal at \S+ refused the connection: it requires a client certificate/m,
        );
      } finally {
        fs.rmSync(other, { recursive: true, force: true });
      }
    });

    it('survives kill -9 of the node the clients talk to during DEPLOY: the run completes, earlier phases ran once', async (t) => {
      const side = sides.hostA;
      await side.sb.setFault('deploy', { sleepSeconds: 15 });
      const run = execa(
        process.execPath,
        [CLIENT, '--versions', 'omninode-claude=0.4.1', '--target', 'hostA'],
        {
          env: side.env,
          extendEnv: false,
          reject: false,
          stdin: 'ignore',
        },
      );
      const out = await untilOutput(run, /\[redeploy\] DEPLOY started/);
      const id = runIdOf(out);
      const [a] = cluster.nodes;
      const before = [...cluster.proxy.connections];
      await a.kill();
      const killedAt = Date.now();
      const r = await run;
      // DEPLOY sleeps 15 s from its start; the rest is the fail-over (shards and task queues move to B).
      t.diagnostic(`kill -9 of node A → run complete: ${Date.now() - killedAt} ms`);
      t.diagnostic(`DEPLOY attempts: ${await phaseRuns(side.logDir, id, 'DEPLOY')}`);
      await side.sb.clearFault('deploy');
      assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
      assert.match(r.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));
      assert.ok(cluster.proxy.connections[1]! > before[1]!, 'clients moved to node B');
      for (const phase of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const)
        assert.equal(await phaseRuns(side.logDir, id, phase), 1, `${phase} ran once`);
      assert.equal((await side.sb.deployedPins())['omninode-claude'], '0.4.1');
      const status = await redeploy(['status', id], side.env);
      assert.equal(status.exitCode, 0, status.stdout + status.stderr);
      assert.match(status.stdout, new RegExp(`^${id}: completed`, 'm'));
      await a.start(); // back to two nodes for what follows
    });

    it('survives kill -9 and restart of PostgreSQL during a decision wait: `redeploy retry` completes the run', async (t) => {
      const side = sides.hostB;
      await side.sb.setFault('deploy', { exitCode: 1, message: 'compose build failed' });
      const first = await redeploy(['--versions', 'omniintelligence=0.8.1', '--target', 'hostB'], side.env);
      const id = runIdOf(first.stdout);
      assert.equal(first.exitCode, 1, 'waiting for a decision on DEPLOY');
      assert.match(first.stdout, /^ERROR in DEPLOY: deploy-runtime\.sh failed \(exit 1\)/m);
      await cluster.pg.kill();
      await sleep(3000);
      await cluster.pg.start();
      await side.sb.clearFault('deploy');
      const retriedAt = Date.now();
      const retry = await redeploy(['retry', id], side.env);
      t.diagnostic(`PostgreSQL restarted → retry complete: ${Date.now() - retriedAt} ms`);
      const log = fs.readFileSync(`${side.logDir}/${id}/DEPLOY.log`, 'utf8');
      assert.equal(retry.exitCode, 0, `${retry.stdout}\n${retry.stderr}\nDEPLOY.log:\n${log}`);
      assert.match(retry.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));
      assert.equal((await side.sb.deployedPins())['omniintelligence'], '0.8.1');
      assert.equal(await phaseRuns(side.logDir, id, 'SYNC'), 1);
      for (const phase of PHASES.slice(0, 4)) assert.equal(await phaseRuns(side.logDir, id, phase), 1, phase);
    });
  },
);
