// Which modules a CLI command loads: runs `node dist/src/client.js ARGS…` with a load trace (ESM through a
// module.register() load hook, CommonJS from require's cache at exit) and prints the count by package.
// Used for docs/BENCHMARKS.md and by test/cli/lazy-load.test.ts (which asserts on the list, not on time).
//
// usage: node bench/scripts/module-trace.mjs [--list] [--] ARGS…   (the environment is passed through)
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The preload (main thread: CommonJS at exit) and the hooks (loader thread: every ESM load). */
const PRELOAD = `
import fs from 'node:fs';
import { createRequire, register } from 'node:module';
const out = process.env.MODULE_TRACE_FILE;
register(new URL('./hooks.mjs', import.meta.url), { data: { out } });
process.on('exit', () => {
  const cache = createRequire(import.meta.url).cache;
  fs.appendFileSync(out, Object.keys(cache).map((f) => 'cjs ' + f + '\\n').join(''));
});
`;
const HOOKS = `
import fs from 'node:fs';
let out;
export function initialize(data) { out = data.out; }
export async function load(url, context, next) {
  if (url.startsWith('file:')) fs.appendFileSync(out, 'esm ' + url.slice(7) + '\\n');
  return next(url, context);
}
`;

/** Runs the CLI with ARGS and returns the absolute paths of every JavaScript module it loaded. */
export function traceModules(
  args,
  { env = process.env, entry = path.join(REPO, 'dist/src/client.js') } = {},
) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'module-trace-'));
  try {
    fs.writeFileSync(path.join(dir, 'preload.mjs'), PRELOAD);
    fs.writeFileSync(path.join(dir, 'hooks.mjs'), HOOKS);
    const file = path.join(dir, 'trace.txt');
    fs.writeFileSync(file, '');
    try {
      execFileSync(
        process.execPath,
        ['--import', pathToFileURL(path.join(dir, 'preload.mjs')).href, entry, ...args],
        { env: { ...env, MODULE_TRACE_FILE: file }, stdio: ['ignore', 'ignore', 'ignore'] },
      );
    } catch {
      // A command that exits non-zero (no server, a refused input) still loaded what it loaded.
    }
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean);
    return [...new Set(lines.map((l) => l.slice(4)))];
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** `@temporalio/worker`, `execa`, `dist/src/cli` … : who a module belongs to. */
export function ownerOf(file) {
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(file)?.[1];
  if (pkg) return pkg;
  const own = /\/dist\/(.+)\/[^/]+$/.exec(file)?.[1];
  return own ? `dist/${own}` : file;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const argv = process.argv.slice(2);
  const list = argv[0] === '--list';
  const args = argv.slice(list ? 1 : 0).filter((a, i) => !(i === 0 && a === '--'));
  const files = traceModules(args);
  process.stdout.on('error', () => undefined); // `… | head`
  if (list) for (const f of files) process.stdout.write(`${f}\n`);
  const by = new Map();
  for (const f of files) by.set(ownerOf(f), (by.get(ownerOf(f)) ?? 0) + 1);
  process.stdout.write(`${files.length} modules: ${args.join(' ')}\n`);
  for (const [owner, n] of [...by].sort((a, b) => b[1] - a[1])) {
    process.stdout.write(`${String(n).padStart(5)}  ${owner}\n`);
  }
}
