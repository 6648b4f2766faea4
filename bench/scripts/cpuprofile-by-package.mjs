// Sums a V8 .cpuprofile (node --cpu-prof) by npm package: each sample is charged to the nearest frame on
// its stack that belongs to a package (or to dist/), so the module loader's work counts for whoever
// imported. Used to see where the CLI's start-up goes (docs/BENCHMARKS.md).
//
// usage: node bench/scripts/cpuprofile-by-package.mjs FILE.cpuprofile
import fs from 'node:fs';
import process from 'node:process';

const profile = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

// V8's pseudo-frames: time not spent running anyone's JavaScript.
const PSEUDO = new Set(['(idle)', '(program)', '(garbage collector)']);

function owner(id) {
  const own = nodes.get(id).callFrame.functionName;
  if (PSEUDO.has(own)) return own;
  for (let at = id; at !== undefined; at = parent.get(at)) {
    const url = nodes.get(at).callFrame.url;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
    if (pkg) return pkg;
    const own = /\/dist\/(.+)$/.exec(url)?.[1];
    if (own) return `dist/${own}`;
  }
  return '(node itself)';
}

const msPerSample = (profile.endTime - profile.startTime) / 1000 / profile.samples.length;
const totals = new Map();
for (const id of profile.samples) totals.set(owner(id), (totals.get(owner(id)) ?? 0) + msPerSample);
process.stdout.write(`total ${((profile.endTime - profile.startTime) / 1000).toFixed(0)} ms\n`);
for (const [name, ms] of [...totals].sort((a, b) => b[1] - a[1]).slice(0, 20)) {
  process.stdout.write(`${ms.toFixed(1).padStart(8)} ms  ${name}\n`);
}
