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
import { median, medianFields, omit, pairedRuns, round } from '../lib/stats.mjs';
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
export function floorInput(sb, ticket, extra = {}) {
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

/**
 * The repetitions behind floor_overhead_ratio, orchestration_ratio and safety_ms: each runs the three
 * sides back to back (ours, the floor, bare bash). Sampled once per bench run and shared by the three
 * measures (the first one to run pays for it; `--only` any one of them samples on its own).
 */
let shared;
function floorSamples(ctx) {
  const key = `${ctx.address} ${ctx.runs} ${ctx.warmup}`;
  if (shared?.key !== key) shared = { key, samples: sampleFloor(ctx) };
  return shared.samples;
}

async function sampleFloor({ mods, address, runs, warmup, log }) {
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
    return await pairedRuns({
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
  } finally {
    await floorWorker.stop();
    await worker.stop();
    await sb.close();
  }
}

const FLOOR_DESIGN =
  'floor = bench/floor/: a workflow of 8 activities running the commands of baseline-redeploy.sh, ' +
  'its own worker process, a fresh `node client.mjs` per run (connect, start, await the result)';

export const floorOverhead = {
  key: 'floor_overhead_ratio',
  target: { op: '<=', value: 1.3 },
  async run(ctx) {
    const result = await floorSamples(ctx);
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
        floor_breakdown_ms_median: medianFields(result.samples.map((s) => omit(s.profiles.floor, 'phases'))),
        ours_activity_ms_median: medianFields(result.samples.map((s) => s.profiles.ours.phases)),
        floor_activity_ms_median: medianFields(result.samples.map((s) => s.profiles.floor.phases)),
        bare_phase_ms_median: medianFields(result.samples.map((s) => s.profiles.bare.phases)),
        design: FLOOR_DESIGN,
      },
    };
  },
};

/** The parts of a run that are orchestration, not work: a profile() of ours or the floor's. */
const ORCHESTRATION = [
  'cli_start_to_workflow_start_ms',
  'workflow_tasks_ms',
  'activity_dispatch_ms',
  'workflow_end_to_cli_exit_ms',
];
export const orchestrationMs = (profile) => ORCHESTRATION.reduce((sum, k) => sum + profile[k], 0);

/**
 * orchestration_ratio: (CLI start + workflow tasks + activity dispatch + CLI exit), ours / the floor's,
 * median of the per-repetition ratios (issue 23). The activities' own time is left out: safety_ms says
 * what ours do beyond the floor's.
 */
export const orchestrationRatio = {
  key: 'orchestration_ratio',
  target: { op: '<=', value: 1.2 },
  async run(ctx) {
    const result = await floorSamples(ctx);
    const ratios = result.samples.map(
      (s) => orchestrationMs(s.profiles.ours) / orchestrationMs(s.profiles.floor),
    );
    const part = (side) =>
      medianFields(
        result.samples.map((s) => ({
          ...Object.fromEntries(ORCHESTRATION.map((k) => [k, s.profiles[side][k]])),
          total_ms: orchestrationMs(s.profiles[side]),
        })),
      );
    return {
      value: median(ratios),
      details: {
        ours_ms_median: part('ours'),
        floor_ms_median: part('floor'),
        ratios: ratios.map((r) => round(r)),
        design: `${ORCHESTRATION.join(' + ')}, from each run's history; ${FLOOR_DESIGN}`,
      },
    };
  },
};

/**
 * safety_ms: time inside the eight phase activities, ours − the floor's (the trust checks the floor does
 * not do: pinned PATH, hardened git, safe reads, lane facts …), median over repetitions of the per-phase
 * sum; per phase in the details. Activities only ours has (the target lock) are listed apart.
 */
export const safetyMs = {
  key: 'safety_ms',
  target: { op: '<=', value: 500 },
  async run(ctx) {
    const result = await floorSamples(ctx);
    const byPhase = result.samples.map((s) => {
      const { ours, floor } = { ours: s.profiles.ours.phases, floor: s.profiles.floor.phases };
      return Object.fromEntries(
        Object.keys(floor)
          .filter((p) => typeof ours[p] === 'number')
          .map((p) => [p, ours[p] - floor[p]]),
      );
    });
    const totals = byPhase.map((d) => Object.values(d).reduce((a, b) => a + b, 0));
    const oursOnly = result.samples.map((s) =>
      Object.fromEntries(
        Object.entries(s.profiles.ours.phases).filter(([p]) => !(p in s.profiles.floor.phases)),
      ),
    );
    return {
      value: median(totals),
      details: {
        ours_minus_floor_ms_median_by_phase: medianFields(byPhase),
        ours_only_activity_ms_median: medianFields(oursOnly),
        totals: totals.map((t) => round(t, 1)),
        design: "activity closed − started, from each run's history, the eight phases matched by name",
      },
    };
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
