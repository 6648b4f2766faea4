// verify_speedup: the seed's sequential VERIFY (curl each endpoint in turn, one `docker exec` per package)
// over our VERIFY activity (all endpoints polled in parallel, one `docker exec` for every package), with
// endpoints that take 300 ms to answer and a docker stand-in taking 400 ms per call.
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { startDelayedHealth } from '../lib/delay-server.mjs';
import { benchRunId } from '../lib/setup.mjs';
import { median, pairedRuns, round } from '../lib/stats.mjs';

const SEED_VERIFY = fileURLToPath(new URL('../scripts/seed-verify.sh', import.meta.url));
const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0', 'omninode-memory': '1.0.0' };
const SERVICES = ['omninode-runtime', 'intelligence-api', 'omninode-contract-resolver'];
const HEALTH_DELAY_MS = 300;
const DOCKER_DELAY_MS = 400;

export const verify = {
  key: 'verify_speedup',
  target: { op: '>=', value: 5 },
  async run({ mods, address, runs, warmup, log }) {
    // The docker stand-in reports what deployed.json holds: every package at its expected version.
    const sb = await mods.createSandbox({ initialDeployed: VERSIONS });
    const health = await startDelayedHealth(SERVICES, HEALTH_DELAY_MS);
    try {
      const vars = {
        ...mods.sandboxVars(sb, address, `bench-verify-${process.pid}`),
        REDEPLOY_HEALTH_ENDPOINTS: JSON.stringify(health.endpoints),
      };
      const env = { ...sb.env, DOCKER_STANDIN_DELAY_MS: String(DOCKER_DELAY_MS) };
      const acts = mods.createActivities({ config: mods.loadConfig(vars), baseEnv: env });
      const ours = () => oursOnce(acts);
      const seed = () => seedOnce(env, health.endpoints);
      const result = await pairedRuns({
        runs,
        warmup,
        log,
        pair: async (i) => {
          let o, s;
          if (i % 2) {
            s = await seed();
            o = await ours();
          } else {
            o = await ours();
            s = await seed();
          }
          // One bare stand-in call per pair: ours cannot beat it (VERIFY waits for one such call).
          return { num: s, den: o, docker: await dockerCallMs(env) };
        },
      });
      const docker = median(result.samples.map((x) => x.docker));
      return {
        value: result.value,
        details: {
          seed_ms_median: round(result.num_median, 1),
          ours_ms_median: round(result.den_median, 1),
          ratios: result.samples.map((x) => round(x.num / x.den)),
          docker_call_ms: round(docker, 1),
          // The best ratio this machine allows: seed over one bare docker call (ours at zero overhead).
          limit_ratio: round(median(result.samples.map((x) => x.num / x.docker))),
          // What ours adds over that call: setup, the lane's tree, the trusted spawn, the log.
          ours_over_call_ms: round(median(result.samples.map((x) => x.den - x.docker)), 1),
          setup: `${SERVICES.length} endpoints answering after ${HEALTH_DELAY_MS} ms, docker stand-in +${DOCKER_DELAY_MS} ms per call, ${Object.keys(VERSIONS).length} packages`,
        },
      };
    } finally {
      await health.close();
      await sb.close();
    }
  },
};

/** The activity itself, in an activity context but without Temporal around it. */
async function oursOnce(acts) {
  const env = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
  const t0 = performance.now();
  await env.run(acts.verify, benchRunId(), { versions: VERSIONS });
  return performance.now() - t0;
}

async function seedOnce(env, endpoints) {
  const args = [
    SEED_VERIFY,
    'omninode-runtime',
    ...Object.entries(VERSIONS).map(([k, v]) => `${k}=${v}`),
    '--',
    ...Object.values(endpoints),
  ];
  const t0 = performance.now();
  const r = await execa('bash', args, { env, extendEnv: false, stdin: 'ignore', reject: false });
  const ms = performance.now() - t0;
  if (r.exitCode !== 0) throw new Error(`seed-verify.sh exited ${r.exitCode}: ${r.stderr}`);
  return ms;
}

/** One bare `docker exec … uv pip show` call: the fixed cost each of the seed's per-package calls pays. */
async function dockerCallMs(env) {
  const t0 = performance.now();
  await execa('docker', ['exec', 'omninode-runtime', 'uv', 'pip', 'show', 'omninode-claude'], {
    env,
    extendEnv: false,
  });
  return performance.now() - t0;
}
