// Measures against Temporal's own floor (bench/floor/): the least a Temporal program with the same eight
// activities running the same commands must cost, started and awaited by a minimal client of the same SDK.
//   floor_overhead_ratio  = (redeploy wall − bare script wall) / (floor wall − bare script wall)
//   cpu_ms_per_run_ratio  = server + worker CPU ms per verify-only run, ours / the floor's
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { cpuMs, devServerPid } from '../lib/cpu.mjs';
import { benchRunId, connectClient, runInput, startWorkerProcess } from '../lib/setup.mjs';
import { medianFields, omit, pairedRuns, round } from '../lib/stats.mjs';
import { VERSIONS, baselineOnce, oursOnce, overheadSandbox, profile } from './overhead.mjs';

const FLOOR = (file) => fileURLToPath(new URL(`../floor/${file}`, import.meta.url));

/** The floor's worker process, with the same environment as ours (the stand-ins on PATH). */
function startFloorWorker(mods, vars, address, taskQueue) {
  return startWorkerProcess(mods, vars, {
    argv: [FLOOR('worker.mjs'), address, taskQueue],
    ready: 'floor worker ready',
  });
}

/** The floor workflow's input: the baseline script's arguments. */
function floorInput(sb, ticket, extra = {}) {
  return {
    omniHome: sb.omniHome,
    worktreeRoot: sb.worktreeRoot,
    ticket,
    envFile: sb.envFile,
    deployRoot: sb.deployRoot,
    container: 'omninode-runtime',
    versions: VERSIONS,
    urls: Object.values(sb.health.endpoints),
    ...extra,
  };
}

let floorCounter = 0;
async function floorOnce(sb, vars, address, taskQueue) {
  const ticket = `bench-floor-${process.pid}-${++floorCounter}`;
  const [t0, wall0] = [performance.now(), Date.now()];
  const r = await execa(
    process.execPath,
    [FLOOR('client.mjs'), address, taskQueue, ticket, JSON.stringify(floorInput(sb, ticket))],
    { env: vars, extendEnv: false, stdin: 'ignore', reject: false },
  );
  const ms = performance.now() - t0;
  const wall1 = Date.now();
  if (r.exitCode !== 0 || r.stdout.trim() !== 'ok')
    throw new Error(`floor client exited ${r.exitCode}:\n${r.stderr}`);
  return { ms, ...(await profile(address, ticket, wall0, wall1)) };
}

export const floorOverhead = {
  key: 'floor_overhead_ratio',
  target: { op: '<=', value: 1.3 },
  async run({ mods, address, runs, warmup, log }) {
    const { sb, vars } = await overheadSandbox(mods, address, `bench-floor-ours-${process.pid}`);
    const floorQueue = `bench-floor-${process.pid}`;
    const worker = await startWorkerProcess(mods, vars);
    const floorWorker = await startFloorWorker(mods, vars, address, floorQueue);
    try {
      const sides = {
        ours: () => oursOnce(mods, vars, address),
        floor: () => floorOnce(sb, vars, address, floorQueue),
        bare: () => baselineOnce(sb, vars),
      };
      const order = ['ours', 'floor', 'bare'];
      const result = await pairedRuns({
        runs,
        warmup,
        log,
        // Rotate the order, so a slow patch of the machine does not favour one side.
        pair: async (i) => {
          const got = {};
          for (let k = 0; k < 3; k++) {
            const side = order[(k + Math.max(i, 0)) % 3];
            got[side] = await sides[side]();
          }
          const [ours, floor, bare] = order.map((side) => got[side].ms);
          return { num: ours - bare, den: floor - bare, ours, floor, bare, profiles: got };
        },
      });
      return {
        value: result.value,
        details: {
          ...medianFields(
            result.samples.map(({ ours, floor, bare }) => ({
              ours_ms_median: ours,
              floor_ms_median: floor,
              bare_ms_median: bare,
            })),
          ),
          ours_over_bare_ms_median: round(result.num_median, 1),
          floor_over_bare_ms_median: round(result.den_median, 1),
          ratios: result.samples.map((s) => round(s.num / s.den)),
          // Where each side's time goes, from the server's history (same fields for ours and the floor).
          ours_breakdown_ms_median: medianFields(result.samples.map((s) => omit(s.profiles.ours, 'phases'))),
          floor_breakdown_ms_median: medianFields(
            result.samples.map((s) => omit(s.profiles.floor, 'phases')),
          ),
          ours_activity_ms_median: medianFields(result.samples.map((s) => s.profiles.ours.phases)),
          floor_activity_ms_median: medianFields(result.samples.map((s) => s.profiles.floor.phases)),
          bare_phase_ms_median: medianFields(result.samples.map((s) => s.profiles.bare.phases)),
          design:
            'floor = bench/floor/: a workflow of 8 activities running the commands of baseline-redeploy.sh, ' +
            'its own worker process, a fresh `node client.mjs` per run (connect, start, await the result)',
        },
      };
    } finally {
      await floorWorker.stop();
      await worker.stop();
      await sb.close();
    }
  },
};

/** CPU ms of the dev server, a worker and the commands it ran, over `n` sequential runs of `start()`. */
async function cpuPerRun(serverPid, workerPid, n, start) {
  const read = async () => {
    const [s, w] = await Promise.all([cpuMs(serverPid), cpuMs(workerPid)]);
    return { server: s.self, worker: w.self, commands: w.children };
  };
  const before = await read();
  for (let i = 0; i < n; i++) await start();
  const after = await read();
  const per = Object.fromEntries(Object.keys(before).map((k) => [k, (after[k] - before[k]) / n]));
  return { ...per, total: per.server + per.worker + per.commands };
}

export const cpuRatio = {
  key: 'cpu_ms_per_run_ratio',
  target: { op: '<=', value: 1.5 },
  // One sample is the CPU of this many runs in a row (/proc counts in 10 ms ticks).
  runs: (quick) => (quick ? 2 : 5),
  async run({ mods, address, runs, warmup, log }) {
    const batch = 20;
    const sb = await mods.createSandbox({ initialDeployed: VERSIONS });
    const vars = mods.sandboxVars(sb, address, `bench-cpu-ours-${process.pid}`);
    const floorQueue = `bench-cpu-floor-${process.pid}`;
    const worker = await startWorkerProcess(mods, vars);
    const floorWorker = await startFloorWorker(mods, vars, address, floorQueue);
    const { client, close } = await connectClient(address);
    const serverPid = await devServerPid(address.split(':')[1]);
    if (!serverPid) throw new Error(`no dev server process found for ${address} in /proc`);
    try {
      const ours = async () => {
        const runId = benchRunId();
        const s = await client.workflow.execute(mods.redeploy, {
          taskQueue: vars.REDEPLOY_TASK_QUEUE,
          workflowId: runId,
          args: [runInput(runId, VERSIONS, { verifyOnly: true })],
        });
        if (s.status !== 'completed') throw new Error(`verify-only run ended ${s.status}: ${s.error}`);
      };
      const floor = async () => {
        const id = `bench-cpu-floor-${benchRunId()}`;
        await client.workflow.execute('floorRedeploy', {
          taskQueue: floorQueue,
          workflowId: id,
          args: [floorInput(sb, id, { verifyOnly: true })],
        });
      };
      const result = await pairedRuns({
        runs,
        warmup,
        log,
        pair: async (i) => {
          const o = () => cpuPerRun(serverPid, worker.pid, batch, ours);
          const f = () => cpuPerRun(serverPid, floorWorker.pid, batch, floor);
          const [a, b] = i % 2 ? [await f(), await o()] : [await o(), await f()];
          const [mine, theirs] = i % 2 ? [b, a] : [a, b];
          return { num: mine.total, den: theirs.total, ours: mine, floor: theirs };
        },
      });
      return {
        value: result.value,
        details: {
          ours_cpu_ms_per_run_median: medianFields(result.samples.map((s) => s.ours)),
          floor_cpu_ms_per_run_median: medianFields(result.samples.map((s) => s.floor)),
          ratios: result.samples.map((s) => round(s.num / s.den)),
          runs_per_sample: batch,
          design:
            'verify-only runs one after another, started by the bench in-process (not counted); CPU from /proc/<pid>/stat: ' +
            'dev server + worker + the commands the worker ran (reaped children)',
        },
      };
    } finally {
      await close();
      await floorWorker.stop();
      await worker.stop();
      await sb.close();
    }
  },
};
