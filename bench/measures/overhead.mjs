// overhead_ratio: a whole attached `redeploy` run (CLI subprocess + worker subprocess + Temporal) against a
// bash script running the same external commands in sequence. Every stand-in with a fault hook (pull-all,
// deploy, seed-infisical, docker) sleeps 1 s in both, so both sides do identical work and the difference is
// what the orchestration costs.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { connectClient, runCli, startWorkerProcess } from '../lib/setup.mjs';
import { events, runBreakdown } from '../lib/history.mjs';
import { medianFields, omit, pairedRuns, round } from '../lib/stats.mjs';

const BASELINE = fileURLToPath(new URL('../scripts/baseline-redeploy.sh', import.meta.url));
export const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const SLEEPING_STANDINS = ['pull-all', 'deploy', 'seed-infisical', 'docker'];

/** INFISICAL runs (seed-infisical.py via uv) only with these set; the address itself is never contacted. */
const INFISICAL_VARS = {
  INFISICAL_ADDR: 'http://127.0.0.1:9',
  INFISICAL_CLIENT_ID: 'bench-client',
  INFISICAL_CLIENT_SECRET: 'bench-client-secret',
  INFISICAL_PROJECT_ID: '3f0e6c1a-2b4d-4e8f-9a1b-5c6d7e8f9a0b',
};

export const overhead = {
  key: 'overhead_ratio',
  target: { op: '<=', value: 1.05 },
  async run({ mods, address, runs, warmup, log }) {
    const { sb, vars } = await overheadSandbox(mods, address, `bench-overhead-${process.pid}`);
    const worker = await startWorkerProcess(mods, vars);
    try {
      const ours = () => oursOnce(mods, vars, address);
      const bare = () => baselineOnce(sb, vars);
      const result = await pairedRuns({
        runs,
        warmup,
        log,
        // Alternate which side goes first, so a slow patch of the machine does not favour one side.
        pair: async (i) => {
          let o, b;
          if (i % 2) {
            b = await bare();
            o = await ours();
          } else {
            o = await ours();
            b = await bare();
          }
          return { num: o.ms, den: b.ms, ours: o, baseline: b };
        },
      });
      return summarize(result);
    } finally {
      await worker.stop();
      await sb.close();
    }
  },
};

/** A sandbox where a full run does the work of the baseline: INFISICAL runs, four stand-ins sleep 1 s. */
export async function overheadSandbox(mods, address, taskQueue) {
  const sb = await mods.createSandbox();
  const vars = mods.sandboxVars(sb, address, taskQueue);
  await sb.writeEnvFile({ ...mods.DEFAULT_ENV, ...INFISICAL_VARS });
  for (const name of SLEEPING_STANDINS) await sb.setFault(name, { sleepSeconds: 1 });
  return { sb, vars };
}

export async function oursOnce(mods, vars, address) {
  const t0 = Date.now();
  const { r, ms } = await runCli(mods, ['--versions', mods.formatVersions(VERSIONS)], vars);
  const t1 = Date.now();
  if (r.exitCode !== 0) throw new Error(`redeploy exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  const runId = /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6})/.exec(r.stdout)?.[1];
  return { ms, ...(await profile(address, runId, t0, t1)) };
}

/** Where our extra time goes: CLI start-up, activities, waiting for the worker, workflow tasks, CLI noticing the end. */
export async function profile(address, runId, t0, t1) {
  const { client, close } = await connectClient(address);
  try {
    const b = runBreakdown(await events(client.workflow.getHandle(runId)));
    const phases = Object.fromEntries(b.activities.map((a) => [a.name, a.closed - a.started]));
    return {
      cli_start_to_workflow_start_ms: b.start - t0,
      activity_exec_ms: b.activity_exec_ms,
      activity_dispatch_ms: b.activity_dispatch_ms,
      workflow_tasks_ms: b.workflow_tasks_ms,
      workflow_end_to_cli_exit_ms: t1 - b.end,
      phases,
    };
  } finally {
    await close();
  }
}

let baselineCounter = 0;
export async function baselineOnce(sb, vars) {
  const ticket = `bench-baseline-${process.pid}-${++baselineCounter}`;
  const args = [
    BASELINE,
    sb.omniHome,
    sb.worktreeRoot,
    ticket,
    sb.envFile,
    sb.deployRoot,
    'omninode-runtime',
    ...Object.entries(VERSIONS).map(([k, v]) => `${k}=${v}`),
    '--',
    ...Object.values(sb.health.endpoints),
  ];
  const t0 = performance.now();
  const r = await execa('bash', args, { env: vars, extendEnv: false, stdin: 'ignore', reject: false });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`baseline script exited ${r.exitCode}:\n${r.stderr}`);
  const phases = Object.fromEntries(
    [...r.stderr.matchAll(/^PHASE (\w+) (\d+)$/gm)].map((m) => [m[1], Number(m[2])]),
  );
  return { ms, phases };
}

function summarize(result) {
  const ours = result.samples.map((s) => s.ours);
  const bare = result.samples.map((s) => s.baseline);
  const oursBreakdown = medianFields(ours.map((o) => omit(o, 'phases')));
  return {
    value: result.value,
    details: {
      ours_ms_median: round(result.num_median, 1),
      baseline_ms_median: round(result.den_median, 1),
      overhead_ms_median: round(result.num_median - result.den_median, 1),
      ours_breakdown_ms_median: oursBreakdown,
      ours_activity_ms_median: medianFields(ours.map((o) => o.phases)),
      baseline_phase_ms_median: medianFields(bare.map((b) => b.phases)),
      ratios: result.samples.map((s) => round(s.num / s.den)),
      design:
        'baseline = bench/scripts/baseline-redeploy.sh: the same external commands in one bash process; ' +
        `${SLEEPING_STANDINS.join(', ')} sleep 1 s on both sides`,
    },
  };
}
