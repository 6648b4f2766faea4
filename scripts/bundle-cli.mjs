// Issue 23: the CLI in one file (plus a chunk per lazily loaded command), so that a command's start reads
// and links a few files instead of ~300 ES modules (execa, zod, …: node's module loader was most of the
// dry run's start). src/client.ts loads dist/src/cli-bundle/main.js when it is there, dist/src/cli/main.js
// otherwise. Built from tsc's output (dist/), so no TypeScript loader is needed. `npm run build` runs it
// before the workflow bundle: dist/workflow-bundle.js stays the last file written (the bench waits on it).
// webpack comes with @temporalio/worker (which bundles the workflow code with it): no new dependency.
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import webpack from 'webpack';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const SRC = path.join(REPO, 'dist/src');
/** Where the bundle goes: one directory below dist/src/, as cli/, io/, … are (see importMeta below). */
const OUT = path.join(SRC, 'cli-bundle');

/**
 * Imported from dist/ as they are, never bundled: what only a worker needs (the worker and the workflow
 * code load their own modules from dist/), and core/errors.js, whose CliError both sides must share:
 * cli/main.ts tells the errors it prints with `instanceof CliError`, and `redeploy worker`, the embedded
 * server and the local worker throw them from dist/'s modules (a second copy of the class would print
 * "redeploy: …" with exit 1 instead of the error's own lines and code).
 */
const OWN_EXTERNAL = new Set([
  path.join(SRC, 'worker.js'),
  path.join(SRC, 'workflows/index.js'),
  path.join(SRC, 'core/errors.js'),
]);
/** Packages left in node_modules: the Temporal SDK (native bridge, protobufs, and CommonJS reaching into @temporalio/common/lib) and Slack, loaded lazily. */
const PACKAGE_EXTERNAL = /^@temporalio\/|^@slack\//;

const config = {
  mode: 'production',
  target: 'node20',
  context: REPO,
  entry: { main: path.join(SRC, 'cli/main.js') },
  output: {
    path: OUT,
    filename: '[name].js',
    // Named after the modules they hold (dist_src_cli_commands_decide_js.js …): readable in a module
    // trace, which test/cli/lazy-load.test.ts asserts on.
    chunkFilename: '[name].js',
    module: true,
    chunkFormat: 'module',
    library: { type: 'module' },
    clean: false,
    // Written every time, even unchanged: client.ts runs the bundle only when it is newer than tsc's output.
    compareBeforeEmit: false,
  },
  experiments: { outputModule: true },
  externalsType: 'import',
  externalsPresets: { node: true },
  externals: [
    ({ context, request }, callback) => {
      if (PACKAGE_EXTERNAL.test(request)) return callback(null, request);
      if (request.startsWith('.')) {
        const file = path.resolve(context, request);
        if (OWN_EXTERNAL.has(file)) return callback(null, path.relative(OUT, file));
      }
      callback();
    },
  ],
  module: {
    parser: {
      // import.meta.url stays the bundle's own URL at run time: the modules that resolve files from it
      // (cli/usage.ts, io/embedded.ts) sit one directory below dist/src/, as the bundle does.
      // test/cli/lazy-load.test.ts checks --version and the supervisor's path from the bundle.
      javascript: { importMeta: false },
    },
  },
  optimization: {
    // Compressed (what webpack marks unused is dropped: less for node to compile, 3.20 → 3.04 × `node -e 0`
    // over 20 interleaved dry runs), not mangled: names stay readable in stack traces (mangling won 0.03 more).
    minimize: true,
    minimizeOptions: { javascript: { compress: { passes: 2 }, mangle: false } },
    chunkIds: 'named',
  },
  devtool: false,
  performance: { hints: false },
  stats: 'errors-warnings',
};

const stats = await new Promise((resolve, reject) =>
  webpack(config, (err, s) => (err ? reject(err) : resolve(s))),
);
if (stats.hasErrors()) {
  console.error(stats.toString('errors-only'));
  process.exit(1);
}
if (stats.hasWarnings()) console.warn(stats.toString('errors-warnings'));
const files = Object.keys(stats.compilation.assets);
console.log(`CLI bundle: ${path.relative(REPO, OUT)}/ (${files.length} files)`);
