// worker_start_ratio: worker start with the prebuilt workflow bundle (dist/workflow-bundle.js) over worker
// start bundling the workflow code with webpack (bundleWorkflowCode). Each start is a fresh process, as a
// real `redeploy worker` is: a warm webpack in a long-lived process would flatter the bundling side.
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { pairedRuns, round } from '../lib/stats.mjs';

const CHILD = fileURLToPath(new URL('../scripts/worker-start-child.mjs', import.meta.url));

export const workerStart = {
  key: 'worker_start_ratio',
  target: { op: '<=', value: 0.35 },
  async run({ address, runs, warmup, log, dist }) {
    const start = (mode) => startOnce(dist, address, mode);
    const result = await pairedRuns({
      runs,
      warmup,
      log,
      pair: async (i) => {
        let p, b;
        if (i % 2) {
          b = await start('bundle');
          p = await start('prebuilt');
        } else {
          p = await start('prebuilt');
          b = await start('bundle');
        }
        return { num: p, den: b };
      },
    });
    return {
      value: result.value,
      details: {
        prebuilt_ms_median: round(result.num_median, 1),
        bundling_ms_median: round(result.den_median, 1),
        ratios: result.samples.map((s) => round(s.num / s.den)),
      },
    };
  },
};

async function startOnce(dist, address, mode) {
  const r = await execa(process.execPath, [CHILD, dist, address, mode], { stdin: 'ignore' });
  const line = JSON.parse(r.stdout.trim().split('\n').at(-1));
  const expected = mode === 'prebuilt' ? 'codePath' : 'code';
  if (line.state !== 'RUNNING' || line.bundle !== expected) {
    throw new Error(`worker start (${mode}) reported ${r.stdout}`);
  }
  return line.ms;
}
