// `npm run bench:cluster [-- --runs N] [-- --rounds R]`: N concurrent verify-only runs spread over two
// workers (task queues redeploy@hostA and @hostB, one worker process each), on the two-node mTLS cluster
// of test/support/cluster.ts and, back to back in the same process, on one dev server. Reports runs/s,
// p95 duration (server timestamps: start → close) and CPU-ms per run (server side and workers).
// A benchmark, not a test: nothing here fails on a number; figures go to docs/BENCHMARKS.md by hand.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { cpuMs, devServerPid } from './lib/cpu.mjs';
import {
  REPO_ROOT,
  benchRunId,
  directPython,
  loadModules,
  machine,
  runInput,
  snapshotDist,
  startWorkerProcess,
} from './lib/setup.mjs';
import { median, percentile, round } from './lib/stats.mjs';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const HOSTS = ['hostA', 'hostB'];
const arg = (name, dflt) => {
  const at = process.argv.indexOf(name);
  return at >= 0 ? Number(process.argv[at + 1]) : dflt;
};
const RUNS = arg('--runs', 50);
const ROUNDS = arg('--rounds', 3);
const err = (line) => process.stderr.write(`${line}\n`);
const ROUND_TIMEOUT_MS = 180_000;

/** CPU ms of every process in a process group (a temporal-server node, PostgreSQL and its backends). */
async function groupCpuMs(pgid) {
  let total = 0;
  for (const pid of await fs.readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(fields[2]) !== pgid) continue; // field 5: pgrp
    total += ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  }
  return total;
}

async function cpuSnapshot(serverGroups, serverPids, workerPids) {
  const server =
    (await Promise.all(serverGroups.map(groupCpuMs))).reduce((a, b) => a + b, 0) +
    (await Promise.all(serverPids.map(cpuMs))).reduce((a, c) => a + c.self, 0);
  const workers = (await Promise.all(workerPids.map(cpuMs))).reduce((a, c) => a + c.self + c.children, 0);
  return { server, workers };
}

/** One round: RUNS verify-only runs at once, alternating hosts; all must complete. */
async function round1(mods, client, queues) {
  const t0 = Date.now();
  const handles = await Promise.all(
    Array.from({ length: RUNS }, (_, i) => {
      const runId = benchRunId();
      return client.workflow.start(mods.redeploy, {
        taskQueue: queues[i % queues.length],
        workflowId: runId,
        args: [runInput(runId, VERSIONS, { verifyOnly: true })],
      });
    }),
  );
  // A run whose VERIFY fails (a machine too loaded for the health checks' deadline) waits for a decision
  // for a day: give up on the round instead, and leave nothing running.
  const states = await Promise.race([Promise.all(handles.map((h) => h.result())), sleep(ROUND_TIMEOUT_MS)]);
  if (!states) {
    await Promise.all(handles.map((h) => h.terminate('bench round timed out').catch(() => {})));
    throw new Error(`not all ${RUNS} runs completed within ${ROUND_TIMEOUT_MS / 1000} s`);
  }
  const wall = Date.now() - t0;
  const bad = states.filter((s) => s.status !== 'completed' || s.phases.VERIFY.status !== 'completed');
  if (bad.length) throw new Error(`${bad.length} of ${RUNS} runs did not complete`);
  const durations = await Promise.all(
    handles.map(async (h) => {
      const d = await h.describe();
      return d.closeTime.getTime() - d.startTime.getTime();
    }),
  );
  return { wall, durations };
}

async function measure(name, { client, mods, address, serverGroups, serverPids, clientEnv = {} }) {
  const sandboxes = [];
  const workers = [];
  const queues = HOSTS.map((h) => mods.taskQueueFor(`bench-${name}-${process.pid}`, h));
  try {
    for (const queue of queues) {
      const sb = await mods.createSandbox({ initialDeployed: VERSIONS });
      sandboxes.push(sb);
      workers.push(await startWorkerProcess(mods, mods.sandboxVars(sb, address, queue, clientEnv)));
    }
    await round1(mods, client, queues); // warm-up: worker caches, connections, task queue partitions
    const rounds = [];
    for (let r = 0; r < ROUNDS; r++) {
      const before = await cpuSnapshot(
        serverGroups,
        serverPids,
        workers.map((w) => w.pid),
      );
      const { wall, durations } = await round1(mods, client, queues);
      const after = await cpuSnapshot(
        serverGroups,
        serverPids,
        workers.map((w) => w.pid),
      );
      const row = {
        runs_per_s: round((RUNS * 1000) / wall, 2),
        p95_ms: percentile(durations, 95),
        server_cpu_ms_per_run: round((after.server - before.server) / RUNS, 1),
        worker_cpu_ms_per_run: round((after.workers - before.workers) / RUNS, 1),
      };
      err(`bench:cluster ${name} round ${r + 1}: ${JSON.stringify(row)}`);
      rounds.push(row);
    }
    return Object.fromEntries(Object.keys(rounds[0]).map((k) => [k, median(rounds.map((x) => x[k]))]));
  } finally {
    for (const w of workers) await w.stop();
    for (const sb of sandboxes) await sb.close();
  }
}

const snap = await snapshotDist();
// cluster.js finds deploy/temporal three levels above itself: give the snapshot the repo's.
await fs.symlink(path.join(REPO_ROOT, 'deploy'), path.join(snap.root, 'deploy'), 'dir');
await directPython(snap.root);
const mods = await loadModules(snap.dist);
const { startCluster, clientTlsEnv } = await import(
  pathToFileURL(path.join(snap.dist, 'test/support/cluster.js')).href
);
const results = {};
try {
  // The cluster: two temporal-server nodes + PostgreSQL; clients through the TCP front, with mTLS.
  const cluster = await startCluster({ log: err });
  try {
    const tls = clientTlsEnv(cluster.certsDir);
    const read = (k) => fs.readFile(tls[k]);
    const connection = await Connection.connect({
      address: cluster.proxy.address,
      tls: {
        serverNameOverride: 'temporal',
        serverRootCACertificate: await read('TEMPORAL_TLS_SERVER_CA_CERT_PATH'),
        clientCertPair: {
          crt: await read('TEMPORAL_TLS_CLIENT_CERT_PATH'),
          key: await read('TEMPORAL_TLS_CLIENT_KEY_PATH'),
        },
      },
    });
    results.cluster = await measure('cluster', {
      client: new Client({ connection }),
      mods,
      address: cluster.proxy.address,
      serverGroups: [...cluster.nodes.map((n) => n.pid()), cluster.pg.pid()],
      serverPids: [],
      clientEnv: cluster.clientEnv,
    });
    await connection.close();
  } finally {
    await cluster.close();
  }
  // The dev server the rest of the suite uses (in memory, one process), same runs, same two workers.
  const server = await mods.startDevServer({ cli: await mods.findTemporalCli() });
  try {
    const connection = await Connection.connect({ address: server.address });
    results.dev_server = await measure('dev', {
      client: new Client({ connection }),
      mods,
      address: server.address,
      serverGroups: [],
      serverPids: [await devServerPid(server.address.split(':')[1])].filter(Boolean),
    });
    await connection.close();
  } finally {
    await server.stop();
  }
} finally {
  await snap.cleanup();
}
const out = { meta: { ...machine(), runs: RUNS, rounds: ROUNDS, cpus: os.cpus().length }, ...results };
process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
