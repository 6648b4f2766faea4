// `npm run bench [-- --quick] [-- --only key,key]`: the performance suite against a real local Temporal dev
// server. Writes bench/results.json and prints a table; the last line is `bench: N passed, M failed`.
// Targets are reported (met / not met) but never fail the run: only a measure that crashed does (exit 1).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { REPO_ROOT, directPython, loadModules, machine, snapshotDist } from './lib/setup.mjs';
import { round } from './lib/stats.mjs';
import { overhead } from './measures/overhead.mjs';
import { verify } from './measures/verify.mjs';
import { workerStart } from './measures/worker-start.mjs';
import { dryRun, helpRatio } from './measures/dry-run.mjs';
import { resume } from './measures/resume.mjs';
import { concurrent } from './measures/concurrent.mjs';
import { cpuRatio, floorOverhead, orchestrationRatio, safetyMs } from './measures/floor.mjs';
import { handover } from './measures/handover.mjs';
import { freshSetup } from './measures/fresh-setup.mjs';

const MEASURES = [
  floorOverhead,
  orchestrationRatio,
  safetyMs,
  cpuRatio,
  handover,
  freshSetup,
  overhead,
  verify,
  workerStart,
  dryRun,
  helpRatio,
  resume,
  concurrent,
];
// Targets set against a baseline no Temporal program can reach (bare bash; a CPU-bound batch on 2 cores):
// still measured and reported, but the floor measures above are the ones that say how we do.
// floor_overhead_ratio mixes orchestration with the trust checks the floor does not do: issue 23 split it
// into orchestration_ratio and safety_ms, which carry the targets.
const INFORMATIONAL = new Set(['overhead_ratio', 'concurrent_p95_ratio', 'floor_overhead_ratio']);

function parseArgs(argv) {
  const quick = argv.includes('--quick') || ['1', 'true'].includes(process.env.BENCH_QUICK ?? '');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? (argv[onlyAt + 1] ?? '').split(',').filter(Boolean) : [];
  const unknown = only.filter((k) => !MEASURES.some((m) => m.key === k));
  if (unknown.length) throw new Error(`--only: unknown measure(s) ${unknown.join(', ')}`);
  return { quick, only };
}

const out = (line = '') => process.stdout.write(`${line}\n`);
const err = (line) => process.stderr.write(`${line}\n`);

const met = (target, value) => (target.op === '<=' ? value <= target.value : value >= target.value);

async function runMeasure(m, ctx) {
  const t0 = performance.now();
  err(`bench: ${m.key} …`);
  try {
    const { value, details } = await m.run({ ...ctx, log: (l) => err(l) });
    if (!Number.isFinite(value)) throw new Error(`no number (got ${value})`);
    const seconds = round((performance.now() - t0) / 1000, 1);
    err(`bench: ${m.key} = ${round(value)} (${seconds} s)`);
    return { key: m.key, ok: true, value: round(value), met: met(m.target, value), seconds, details };
  } catch (e) {
    err(`bench: ${m.key} FAILED: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    return {
      key: m.key,
      ok: false,
      value: null,
      met: false,
      error: String(e instanceof Error ? e.message : e),
    };
  }
}

function printTable(results, runs) {
  const rows = results.map((r) => {
    const m = MEASURES.find((x) => x.key === r.key);
    const target = `${m.target.op === '<=' ? '≤' : '≥'} ${m.target.value}`;
    return [
      r.key,
      r.ok ? String(r.value) : 'FAILED',
      target,
      (r.ok ? (r.met ? 'met' : 'not met') : '-') + (INFORMATIONAL.has(r.key) ? ' (informational)' : ''),
      String(runs[r.key]),
    ];
  });
  const head = ['measure', 'value', 'target', 'target met', 'runs'];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells) =>
    cells
      .map((c, i) => c.padEnd(widths[i]))
      .join('  ')
      .trimEnd();
  out();
  out(line(head));
  out(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) out(line(r));
  out();
}

async function main() {
  const { quick, only } = parseArgs(process.argv.slice(2));
  const started = performance.now();
  const selected = MEASURES.filter((m) => only.length === 0 || only.includes(m.key));
  const runs = Object.fromEntries(selected.map((m) => [m.key, m.runs ? m.runs(quick) : quick ? 2 : 5]));
  // Quick mode only proves the harness works: no discarded warm-up runs.
  const warmup = quick ? 0 : 1;
  const snap = await snapshotDist();
  let results, cli, python, loadStart;
  try {
    python = await directPython(snap.root);
    const mods = await loadModules(snap.dist);
    cli = await mods.findTemporalCli();
    const server = await mods.startDevServer({ cli });
    loadStart = os.loadavg();
    try {
      results = [];
      for (const m of selected) {
        results.push(
          await runMeasure(m, {
            mods,
            address: server.address,
            runs: runs[m.key],
            warmup,
            quick,
            dist: snap.dist,
          }),
        );
      }
    } finally {
      await server.stop();
    }
  } finally {
    await snap.cleanup();
  }
  const json = {
    ...Object.fromEntries(results.map((r) => [r.key, r.value])),
    meta: {
      date: new Date().toISOString(),
      quick,
      runs,
      warmup_runs: warmup,
      machine: machine(),
      loadavg_start: loadStart.map((x) => round(x, 2)),
      loadavg_end: os.loadavg().map((x) => round(x, 2)),
      python3: python ?? 'python3 from PATH',
      temporal_cli: cli,
      duration_s: round((performance.now() - started) / 1000, 1),
    },
    targets: Object.fromEntries(
      results.map((r) => {
        const m = MEASURES.find((x) => x.key === r.key);
        return [
          r.key,
          {
            target: `${m.target.op} ${m.target.value}`,
            met: r.met,
            ...(INFORMATIONAL.has(r.key) ? { informational: true } : {}),
          },
        ];
      }),
    ),
    details: Object.fromEntries(
      results.map((r) => [r.key, r.ok ? { seconds: r.seconds, ...r.details } : { error: r.error }]),
    ),
  };
  await fs.writeFile(path.join(REPO_ROOT, 'bench', 'results.json'), `${JSON.stringify(json, null, 2)}\n`);
  printTable(results, runs);
  out(`results: bench/results.json (${json.meta.duration_s} s${quick ? ', quick mode' : ''})`);
  const passed = results.filter((r) => r.ok).length;
  const failed = results.length - passed;
  out(`bench: ${passed} passed, ${failed} failed`);
  return failed === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e) => {
    err(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    out(`bench: 0 passed, ${MEASURES.length} failed`);
    process.exit(1);
  },
);
