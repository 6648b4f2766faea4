/* global console -- a command-line tool */
// Times each of the eight phase activities in-process (MockActivityEnvironment, no Temporal server), for
// one or more builds side by side and the floor's activities (bench/floor/activities.mjs), interleaved per
// repetition so a slow patch of the machine hits every side alike. Prints per-phase medians and, per build,
// the median of (ours − floor) summed per repetition: an in-process stand-in for safety_ms that isolates the
// activities from orchestration. The stand-ins do not sleep.
//   node bench/scripts/phase-timing.mjs [--runs N] [--strace FILE] DIST [DIST …]
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { pathToFileURL } from 'node:url';
import { REPO_ROOT, buildsFromArgv, directPython, loadModules } from '../lib/setup.mjs';
import { median } from '../lib/stats.mjs';
import { floorInput } from '../measures/floor.mjs';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const INFISICAL_VARS = {
  INFISICAL_ADDR: 'http://127.0.0.1:9',
  INFISICAL_CLIENT_ID: 'bench-client',
  INFISICAL_CLIENT_SECRET: 'bench-client-secret',
  INFISICAL_PROJECT_ID: '3f0e6c1a-2b4d-4e8f-9a1b-5c6d7e8f9a0b',
};
const PHASES = ['sync', 'envCheck', 'worktree', 'pinUpdate', 'deploy', 'infisical', 'verify', 'notify'];

const MARK = process.env.PHASE_MARK;
const { runs, dists } = buildsFromArgv(process.argv.slice(2));

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'phase-timing-'));
await directPython(tmp);
const mods0 = await loadModules(dists[0]);
const { MockActivityEnvironment } = await import(
  pathToFileURL(path.join(REPO_ROOT, 'node_modules/@temporalio/testing/lib/index.js')).href
);
const { DefaultLogger } = await import(
  pathToFileURL(path.join(REPO_ROOT, 'node_modules/@temporalio/worker/lib/index.js')).href
);
const floor = (await import(pathToFileURL(path.join(REPO_ROOT, 'bench/floor/activities.mjs')).href))
  .activities;

const sb = await mods0.createSandbox();
await sb.writeEnvFile({ ...mods0.DEFAULT_ENV, ...INFISICAL_VARS });
const vars = mods0.sandboxVars(sb, '127.0.0.1:1', 'phase-timing');
// The floor's execa calls inherit the process environment, as in its worker process.
for (const k of Object.keys(process.env)) delete process.env[k];
Object.assign(process.env, vars);

const sides = [];
for (const dist of dists) {
  const mods = dist === dists[0] ? mods0 : await loadModules(dist);
  const acts = mods.createActivities({ config: mods.loadConfig(vars), baseEnv: vars });
  sides.push({ name: path.basename(path.dirname(dist)) + '/' + path.basename(dist), acts });
}

// PHASE_MARK=1 under `strace -e trace=execve,statfs`: a failing statfs names the phase that starts.
const mark = (what) => {
  if (MARK) fs.statfs(`/PHASE-${what}`).catch(() => {});
};
const mock = () => new MockActivityEnvironment(undefined, { logger: new DefaultLogger('ERROR') });
async function timed(fn) {
  const t0 = performance.now();
  const r = await fn();
  return { ms: performance.now() - t0, r };
}

let n = 0;
async function oursOnce(acts) {
  const runId = `redeploy-20261205-${(0x100000 + process.pid * 64 + ++n).toString(16).slice(-6)}`;
  const ticket = runId;
  const t = {};
  const run = async (phase, ...args) => {
    mark(`ours-${phase}`);
    const { ms, r } = await timed(() => mock().run(acts[phase], runId, ...args));
    t[phase] = ms;
    return r;
  };
  await run('sync');
  await run('envCheck', { skipInfisical: false, ticket, ref: 'main' });
  const wt = await run('worktree', { ticket, versions: VERSIONS, ref: 'main' });
  const baseCommit = wt.details.base_commit;
  const pu = await run('pinUpdate', { ticket, ref: 'main', baseCommit, versions: VERSIONS });
  const dep = await run('deploy', {
    ticket,
    ref: 'main',
    reattempt: false,
    baseCommit,
    dockerfileSha256: pu.details.dockerfile_sha256,
    expectPins: { ...VERSIONS },
    versions: VERSIONS,
  });
  await run('infisical', { ticket, ref: 'main', baseCommit });
  await run('verify', {
    versions: VERSIONS,
    against: {
      ref: 'main',
      commit: dep.details.deployed_commit,
      dockerfile_sha256: pu.details.dockerfile_sha256,
    },
    ticket,
  });
  await run('notify', {
    versions: VERSIONS,
    phases: {},
    outcome: 'complete',
    provenance: { ref: 'main', base_commit: baseCommit, deployed_commit: dep.details.deployed_commit },
    ticket,
  });
  return t;
}

let fn = 0;
async function floorOnce() {
  const ticket = `floor-${process.pid}-${++fn}`;
  const a = floorInput(sb, ticket);
  const t = {};
  for (const p of PHASES) {
    mark(`floor-${p}`);
    t[p] = (await timed(() => floor[p](a))).ms;
  }
  return t;
}

const samples = { floor: [] };
for (const s of sides) samples[s.name] = [];
for (let i = -1; i < runs; i++) {
  const order = [
    { name: 'floor', once: floorOnce },
    ...sides.map((s) => ({ name: s.name, once: () => oursOnce(s.acts) })),
  ];
  const k = Math.max(i, 0) % order.length;
  for (const side of [...order.slice(k), ...order.slice(0, k)]) {
    const t = await side.once();
    if (i >= 0) samples[side.name].push(t);
  }
  process.stderr.write(`rep ${i + 1}/${runs}\n`);
}

const row = (name, vals) =>
  `${name.padEnd(28)}${vals.map((v) => String(Math.round(v)).padStart(10)).join('')}`;
console.log(row('median ms', []) + PHASES.map((p) => p.padStart(10)).join('') + '   safety');
for (const [name, ts] of Object.entries(samples)) {
  const safety =
    name === 'floor'
      ? NaN
      : median(ts.map((t, i) => PHASES.reduce((sum, p) => sum + t[p] - samples.floor[i][p], 0)));
  console.log(row(name, [...PHASES.map((p) => median(ts.map((t) => t[p]))), safety]));
}
for (const s of sides) {
  const d = PHASES.map((p) => median(samples[s.name].map((t, i) => t[p] - samples.floor[i][p])));
  console.log(row(`${s.name} − floor`, d));
}
await sb.close();
await fs.rm(tmp, { recursive: true, force: true });
process.exit(0);
