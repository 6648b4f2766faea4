/* global console -- a command-line tool */
// VERIFY in-process as bench/measures/verify.mjs runs it, for one or more builds interleaved: the median
// ms of each, and of one bare docker stand-in call.   node bench/scripts/verify-timing.mjs [--runs N] DIST…
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { REPO_ROOT, benchRunId, buildsFromArgv, directPython, loadModules } from '../lib/setup.mjs';
import { median } from '../lib/stats.mjs';
import { startDelayedHealth } from '../lib/delay-server.mjs';
import os from 'node:os';
import fs from 'node:fs/promises';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0', 'omninode-memory': '1.0.0' };
const SERVICES = ['omninode-runtime', 'intelligence-api', 'omninode-contract-resolver'];
const { runs, dists } = buildsFromArgv(process.argv.slice(2));
const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'verify-timing-'));
await directPython(tmp);
const { MockActivityEnvironment } = await import(
  pathToFileURL(path.join(REPO_ROOT, 'node_modules/@temporalio/testing/lib/index.js')).href
);
const { DefaultLogger } = await import(
  pathToFileURL(path.join(REPO_ROOT, 'node_modules/@temporalio/worker/lib/index.js')).href
);
const mods0 = await loadModules(dists[0]);
const sb = await mods0.createSandbox({ initialDeployed: VERSIONS });
const health = await startDelayedHealth(SERVICES, 300);
const vars = {
  ...mods0.sandboxVars(sb, '127.0.0.1:1', 'vt'),
  REDEPLOY_HEALTH_ENDPOINTS: JSON.stringify(health.endpoints),
};
const env = { ...sb.env, DOCKER_STANDIN_DELAY_MS: '400' };
const sides = [];
for (const d of dists) {
  const mods = d === dists[0] ? mods0 : await loadModules(d);
  sides.push({
    name: d,
    acts: mods.createActivities({ config: mods.loadConfig(vars), baseEnv: env }),
    ms: [],
  });
}
const docker = [];
for (let i = -1; i < runs; i++) {
  const k = Math.max(i, 0) % sides.length;
  for (const s of [...sides.slice(k), ...sides.slice(0, k)]) {
    const menv = new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
    const t0 = performance.now();
    await menv.run(s.acts.verify, benchRunId(), { versions: VERSIONS });
    if (i >= 0) s.ms.push(performance.now() - t0);
  }
  const t0 = performance.now();
  await execa('docker', ['exec', 'omninode-runtime', 'uv', 'pip', 'show', 'omninode-claude'], {
    env,
    extendEnv: false,
  });
  if (i >= 0) docker.push(performance.now() - t0);
}
for (const s of sides)
  console.log(`${s.name}: ${median(s.ms).toFixed(1)} ms  (${s.ms.map((x) => Math.round(x)).join(' ')})`);
console.log(`docker call: ${median(docker).toFixed(1)} ms`);
for (const s of sides.slice(1)) {
  const r = s.ms.map((x, i) => x / sides[0].ms[i]);
  console.log(`${s.name} / ${sides[0].name}: ${median(r).toFixed(3)}`);
}
await health.close();
await sb.close();
process.exit(0);
