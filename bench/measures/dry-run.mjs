// dry_run_ratio: `redeploy --versions … --dry-run` (a subprocess against a sandbox fixture) over `node -e 0`,
// i.e. what the CLI adds to the bare cost of starting Node; help_ratio: the same for `redeploy --help`.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { execa } from 'execa';
import { runCli } from '../lib/setup.mjs';
import { median, pairedRuns, round } from '../lib/stats.mjs';

const VERSIONS = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

// Each run costs well under a second: take more samples for a steadier median.
const runs = (quick) => (quick ? 3 : 15);

/**
 * Repetitions of `node -e 0`, `--dry-run` and `--help` back to back (the order of the first two
 * alternates), shared by dry_run_ratio and help_ratio: sampled once per bench run.
 */
let shared;
function samples(ctx) {
  const key = `${ctx.runs} ${ctx.warmup}`;
  if (shared?.key !== key) shared = { key, samples: sample(ctx) };
  return shared.samples;
}

async function sample({ mods, address, runs, warmup, log }) {
  const sb = await mods.createSandbox();
  try {
    const env = mods.sandboxVars(sb, address, `bench-dry-run-${process.pid}`);
    const nodeOnly = () => bareNode(env);
    const dry = async () => {
      const { r, ms } = await runCli(mods, ['--versions', VERSIONS, '--dry-run'], env);
      if (r.exitCode !== 0 || !r.stdout.includes('[DRY RUN] redeploy run_id=')) {
        throw new Error(`--dry-run exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
      }
      return ms;
    };
    // Where the time goes: starting the CLI (--help answers before anything loads) vs the dry run's work.
    const help = async () => {
      const { r, ms } = await runCli(mods, ['--help'], env);
      if (r.exitCode !== 0 || !r.stdout.startsWith('Usage: redeploy'))
        throw new Error(`--help exited ${r.exitCode}`);
      return ms;
    };
    return await pairedRuns({
      runs,
      warmup: warmup + 1, // node's first starts after a while fill the disk cache
      log,
      pair: async (i) => {
        let d, n;
        if (i % 2) {
          n = await nodeOnly();
          d = await dry();
        } else {
          d = await dry();
          n = await nodeOnly();
        }
        return { num: d, den: n, help: await help() };
      },
    });
  } finally {
    await sb.close();
  }
}

export const dryRun = {
  key: 'dry_run_ratio',
  target: { op: '<=', value: 2.5 },
  runs,
  async run(ctx) {
    const result = await samples(ctx);
    return {
      value: result.value,
      details: {
        dry_run_ms_median: round(result.num_median, 1),
        node_e0_ms_median: round(result.den_median, 1),
        help_ms_median: round(median(result.samples.map((s) => s.help)), 1),
        ratios: result.samples.map((s) => round(s.num / s.den)),
      },
    };
  },
};

/** help_ratio: `redeploy --help` over `node -e 0` of the same repetition (issue 23: ≤ 2). */
export const helpRatio = {
  key: 'help_ratio',
  target: { op: '<=', value: 2 },
  runs,
  async run(ctx) {
    const result = await samples(ctx);
    const ratios = result.samples.map((s) => s.help / s.den);
    return {
      value: median(ratios),
      details: {
        help_ms_median: round(median(result.samples.map((s) => s.help)), 1),
        node_e0_ms_median: round(result.den_median, 1),
        ratios: ratios.map((r) => round(r)),
      },
    };
  },
};

async function bareNode(env) {
  const t0 = performance.now();
  await execa(process.execPath, ['-e', '0'], { env, extendEnv: false, stdin: 'ignore' });
  return performance.now() - t0;
}
