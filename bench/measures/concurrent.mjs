// concurrent_p95_ratio: 50 `--verify-only` runs started at once on one worker (all must succeed): the p95 of
// their durations over the duration of a single verify-only run on the same, otherwise idle, worker.
// Durations are the server's (workflow start → close), so the bench's own client does not count.
import os from 'node:os';
import process from 'node:process';
import { cpuMs, devServerPid } from '../lib/cpu.mjs';
import { activities, events, workflowTasks } from '../lib/history.mjs';
import { benchRunId, connectClient, runInput, startWorkerProcess } from '../lib/setup.mjs';
import { median, pairedRuns, percentile, round } from '../lib/stats.mjs';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const CONCURRENT = 50;

export const concurrent = {
  key: 'concurrent_p95_ratio',
  target: { op: '<=', value: 3 },
  async run({ mods, address, runs, warmup, log }) {
    // Already "deployed": VERIFY passes without a DEPLOY before it.
    const sb = await mods.createSandbox({ initialDeployed: VERSIONS });
    const vars = mods.sandboxVars(sb, address, `bench-concurrent-${process.pid}`);
    const worker = await startWorkerProcess(mods, vars);
    const { client, close } = await connectClient(address);
    const serverPid = await devServerPid(address.split(':')[1]);
    try {
      const go = (n) =>
        withCpu(worker.pid, serverPid, () => runMany(mods, client, vars.REDEPLOY_TASK_QUEUE, n));
      const result = await pairedRuns({
        runs,
        warmup,
        log,
        pair: async () => {
          const single = await go(1);
          const many = await go(CONCURRENT);
          return {
            num: percentile(many.durations, 95),
            den: single.durations[0],
            single: single.profile,
            many: many.profile,
            cpu: many.cpu,
          };
        },
      });
      return {
        value: result.value,
        details: {
          p95_ms_median: round(result.num_median, 1),
          single_ms_median: round(result.den_median, 1),
          ratios: result.samples.map((s) => round(s.num / s.den)),
          single_profile_ms_median: medianOf(result.samples.map((s) => s.single)),
          concurrent_profile_ms_median: medianOf(result.samples.map((s) => s.many)),
          concurrent_cpu_ms_median: medianOf(
            result.samples.map((s) => s.cpu),
            '',
          ),
          // The batch cannot finish sooner than its CPU time spread over every core.
          cpu_bound_floor_ms_median: round(median(result.samples.map((s) => cpuFloor(s.cpu))), 1),
        },
      };
    } finally {
      await close();
      await worker.stop();
      await sb.close();
    }
  },
};

/** Starts `n` verify-only runs together, waits for all; every one must complete. */
async function runMany(mods, client, taskQueue, n) {
  const handles = await Promise.all(
    Array.from({ length: n }, () => {
      const runId = benchRunId();
      return client.workflow.start(mods.redeploy, {
        taskQueue,
        workflowId: runId,
        args: [runInput(runId, VERSIONS, { verifyOnly: true })],
      });
    }),
  );
  const states = await Promise.all(handles.map((h) => h.result()));
  const bad = states.filter((s) => s.status !== 'completed' || s.phases.VERIFY.status !== 'completed');
  if (bad.length)
    throw new Error(`${bad.length} of ${n} verify-only runs did not complete: ${JSON.stringify(bad[0])}`);
  const timelines = await Promise.all(handles.map(async (h) => events(h)));
  const durations = timelines.map(duration);
  return { durations, profile: profile(timelines) };
}

/** CPU spent by the worker (itself, and the stand-ins it ran) and the dev server while `fn` ran. */
async function withCpu(workerPid, serverPid, fn) {
  const before = await Promise.all([cpuMs(workerPid), serverPid ? cpuMs(serverPid) : undefined]);
  const t0 = Date.now();
  const result = await fn();
  const wall = Date.now() - t0;
  const after = await Promise.all([cpuMs(workerPid), serverPid ? cpuMs(serverPid) : undefined]);
  const cpu = {
    wall,
    worker: after[0].self - before[0].self,
    standins: after[0].children - before[0].children,
    ...(serverPid ? { server: after[1].self - before[1].self } : {}),
  };
  return { ...result, cpu };
}

function cpuFloor(cpu) {
  return (cpu.worker + cpu.standins + (cpu.server ?? 0)) / os.cpus().length;
}

function duration(evs) {
  const start = evs.find((e) => e.kind === 'workflowExecutionStarted').at;
  const end = evs.find((e) => e.kind === 'workflowExecutionCompleted').at;
  return end - start;
}

/**
 * Where a run's time goes: before VERIFY is scheduled (first workflow task), VERIFY waiting for a worker
 * slot, VERIFY running, and after it (last workflow task). p95 over the runs of one round.
 */
function profile(timelines) {
  const parts = timelines.map((evs) => {
    const start = evs.find((e) => e.kind === 'workflowExecutionStarted').at;
    const end = evs.find((e) => e.kind === 'workflowExecutionCompleted').at;
    const v = activities(evs).find((a) => a.name === 'verify');
    const [first, ...rest] = workflowTasks(evs);
    const last = rest.at(-1);
    return {
      first_workflow_task_wait: first.started - first.scheduled,
      first_workflow_task_run: first.completed - first.started,
      verify_dispatch: v.started - v.scheduled,
      verify_exec: v.closed - v.started,
      last_workflow_task_wait: last.started - last.scheduled,
      last_workflow_task_run: last.completed - last.started,
      total: end - start,
    };
  });
  return Object.fromEntries(
    Object.keys(parts[0]).map((k) => [
      k,
      percentile(
        parts.map((p) => p[k]),
        95,
      ),
    ]),
  );
}

function medianOf(profiles, suffix = '_p95') {
  return Object.fromEntries(
    Object.keys(profiles[0]).map((k) => [`${k}${suffix}`, round(median(profiles.map((p) => p[k])), 1)]),
  );
}
