// dry_run_ratio: `redeploy --versions … --dry-run` (a subprocess against a sandbox fixture) over `node -e 0`,
// i.e. what the CLI adds to the bare cost of starting Node.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { execa } from 'execa';
import { runCli } from '../lib/setup.mjs';
import { median, pairedRuns, round } from '../lib/stats.mjs';

const VERSIONS = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

export const dryRun = {
  key: 'dry_run_ratio',
  target: { op: '<=', value: 4 },
  // Each run costs well under a second: take more samples for a steadier median.
  runs: (quick) => (quick ? 3 : 15),
  async run({ mods, address, runs, warmup, log }) {
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
      // Where the time goes: loading the CLI's modules (--help parses and exits) vs the dry run's own work.
      const help = async () => (await runCli(mods, ['--help'], env)).ms;
      const helpSamples = [];
      const result = await pairedRuns({
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
          if (i >= 0) helpSamples.push(await help());
          return { num: d, den: n };
        },
      });
      return {
        value: result.value,
        details: {
          dry_run_ms_median: round(result.num_median, 1),
          node_e0_ms_median: round(result.den_median, 1),
          help_ms_median: round(median(helpSamples), 1),
          ratios: result.samples.map((s) => round(s.num / s.den)),
        },
      };
    } finally {
      await sb.close();
    }
  },
};

async function bareNode(env) {
  const t0 = performance.now();
  await execa(process.execPath, ['-e', '0'], { env, extendEnv: false, stdin: 'ignore' });
  return performance.now() - t0;
}
