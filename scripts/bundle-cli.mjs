// Issue 23: the CLI in one file (plus a chunk per lazily loaded command), so that a command's start reads
// and links a few files instead of ~300 ES modules (execa, zod, …: node's module loader was most of the
// dry run's start). src/client.ts runs dist/src/cli-bundle/main.cjs when it is there, dist/src/cli/main.js
// otherwise. Built from tsc's output (dist/), so no TypeScript loader is needed. `npm run build` runs it
// before the workflow bundle: dist/workflow-bundle.js stays the last file written (the bench waits on it).
// webpack comes with @temporalio/worker (which bundles the workflow code with it): no new dependency.
//
// The bundle is CommonJS-shaped scripts, not ES modules: src/bundle-loader.ts compiles them with V8's code
// cache, which node 20 offers for scripts only. The cache is made here, after the bundle, by a training run
// (a dry run in a throwaway directory): V8 caches what was compiled by then, so the functions a start
// runs come compiled.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { execa } from 'execa';
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
/**
 * Packages left in node_modules, loaded lazily: what only a worker needs (the worker and its native bridge,
 * the workflow and activity SDKs, the test server) and Slack. The client is bundled, with @temporalio/common,
 * @temporalio/proto, grpc-js and protobufjs: node's loader compiled its ~100 files with no code cache on
 * every command that talks to Temporal (86 ms of compiling in a profile of `redeploy status`, issue 23).
 * The worker side keeps its own copy from node_modules; the two share nothing but the wire format, and the
 * SDK's errors are told apart by Symbol.for tags, not by class identity.
 */
const PACKAGE_EXTERNAL = /^@temporalio\/(worker|workflow|testing|activity|core-bridge)|^@slack\//;

if (process.argv[2] === '--train') {
  // The training run (a child of the build, in the environment set up below): a dry run through the
  // loader, then the modules a run and --resume load after their checks, then each script's cache.
  const { bundleLoader } = await import(pathToFileURL(path.join(SRC, 'bundle-loader.js')).href);
  const loader = bundleLoader(pathToFileURL(`${OUT}/`));
  const cli = await loader.main();
  const code = await cli.main(['--versions', 'omninode-claude=0.4.0,omniintelligence=0.8.0', '--dry-run']);
  if (code !== 0) throw new Error(`the training dry run exited ${code}`);
  // What a real run and --resume load once their checks pass (no server here: loaded, not run).
  await cli.loadRunPath();
  loader.writeCaches();
  process.exit(0);
}

const config = {
  mode: 'production',
  target: 'node20',
  context: REPO,
  entry: { main: path.join(SRC, 'cli/main.js') },
  output: {
    path: OUT,
    filename: '[name].cjs',
    // Named after the modules they hold (dist_src_cli_commands_decide_js.cjs …): readable in a module
    // trace, which test/cli/lazy-load.test.ts asserts on.
    chunkFilename: '[name].cjs',
    // Scripts for src/bundle-loader.ts: the chunks come through its `require`.
    chunkFormat: 'commonjs',
    chunkLoading: 'require',
    library: { type: 'commonjs2' },
    clean: true,
    // Written every time, even unchanged: client.ts runs the bundle only when it is newer than tsc's output.
    compareBeforeEmit: false,
  },
  externalsPresets: { node: true },
  resolve: {
    // grpc-js loads @grpc/proto-loader (with its own protobufjs 7) only to serve channelz or to read an ORCA
    // load report (a weighted_round_robin service config): a CLI client does neither. Left out, they are a
    // tenth of the client's chunk and ~1.5 s of the build; should grpc-js reach them, that call fails.
    alias: { '@grpc/proto-loader': false },
  },
  // Our own externals load as ES modules, by the loader's import() (a vm.Script has none of its own); the
  // packages by require(). Why: they are CommonJS, and node's import() of one first scans its source and every
  // module it re-exports for export names (cjs-module-lexer: ~30 ms of the worker SDK's load, issue 23).
  externals: [
    ({ context, request }, callback) => {
      const imported = (specifier) => callback(null, `promise __bundleImport(${JSON.stringify(specifier)})`);
      if (PACKAGE_EXTERNAL.test(request)) return callback(null, `commonjs ${request}`);
      if (request.startsWith('.')) {
        const file = path.resolve(context, request);
        if (OWN_EXTERNAL.has(file)) return imported(path.relative(OUT, file));
      }
      callback();
    },
  ],
  module: {
    parser: {
      // import.meta.url stays the bundle's own URL at run time (as __bundleUrl, below): the modules that
      // resolve files from it (cli/usage.ts, io/embedded.ts) sit one directory below dist/src/, as the
      // bundle does. test/cli/lazy-load.test.ts checks --version and the supervisor's path from the bundle.
      javascript: { importMeta: false },
    },
    rules: [
      { test: /\.js$/, include: SRC, loader: path.join(REPO, 'scripts/bundle-import-meta.cjs') },
      {
        test: /[\\/]@temporalio[\\/]common[\\/]lib[\\/]internal-non-workflow[\\/]data-converter-helpers\.js$/,
        loader: path.join(REPO, 'scripts/bundle-node-require.cjs'),
      },
      {
        test: /[\\/]@temporalio[\\/]proto[\\/]protos[\\/]json-module\.js$/,
        loader: path.join(REPO, 'scripts/bundle-proto-root.cjs'),
      },
    ],
  },
  optimization: {
    // Compressed (what webpack marks unused is dropped: less for node to compile, 3.20 → 3.04 × `node -e 0`
    // over 20 interleaved dry runs), not mangled: names stay readable in stack traces (mangling won 0.03 more).
    // One pass: with the Temporal client in the bundle a second cost ~3 s of every build (npm run demo's
    // first run included) and no measurable start time (`redeploy status`, 12 interleaved pairs).
    minimize: true,
    minimizeOptions: { javascript: { compress: { passes: 1 }, mangle: false } },
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
// A warning is an error here: "Critical dependency" (a require() webpack cannot resolve, made an empty
// context that fails at run time) is one, and the SDK moving the file scripts/bundle-node-require.cjs
// rewrites would show up only as that warning.
if (stats.hasWarnings()) {
  console.error(stats.toString('errors-warnings'));
  process.exit(1);
}
const files = Object.keys(stats.compilation.assets).filter((f) => f.endsWith('.cjs'));
// A vm.Script can run neither: a leftover would fail only when its code runs.
for (const f of files) {
  const code = fs.readFileSync(path.join(OUT, f), 'utf8');
  if (/\bimport\.meta\b|\bimport\(/.test(code))
    throw new Error(`${f}: import.meta or import() left in the bundle`);
}

// The training run, in a throwaway directory: a clone with origin/main (so that the tree reads, the
// Dockerfile and the pin diff run too), nothing configured, Temporal never reached.
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-bundle-train-'));
try {
  const omni = path.join(tmp, 'omni_home');
  const clone = path.join(omni, 'omnibase_infra');
  fs.mkdirSync(path.join(clone, 'docker'), { recursive: true });
  fs.writeFileSync(
    path.join(clone, 'docker/Dockerfile.runtime'),
    'RUN uv pip install --system \\\n    "omninode-claude>=0.3.0,<0.5.0" \\\n    omniintelligence==0.6.0\n',
  );
  const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp };
  const git = (...args) => execa('git', ['-C', clone, ...args], { env: gitEnv, extendEnv: false });
  await git('init', '-q', '-b', 'main');
  await git('add', '.');
  await git('-c', 'user.name=build', '-c', 'user.email=build@localhost', 'commit', '-qm', 'training');
  await git('update-ref', 'refs/remotes/origin/main', 'HEAD');
  await execa(process.execPath, [fileURLToPath(import.meta.url), '--train'], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: tmp,
      OMNI_HOME: omni,
      REDEPLOY_WORKTREE_ROOT: path.join(tmp, 'worktrees'),
      REDEPLOY_ENV_FILE: path.join(tmp, 'env'),
      REDEPLOY_STATE_DIR: path.join(tmp, 'state'),
      REDEPLOY_SKILL_RESULTS_DIR: path.join(tmp, 'skill-results'),
      REDEPLOY_DEPLOY_ROOT: path.join(tmp, 'deploy'),
      REDEPLOY_LOG_DIR: path.join(tmp, 'logs'),
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    },
    extendEnv: false,
    stdin: 'ignore',
  });
} finally {
  fs.rmSync(tmp, { recursive: true, force: true });
}
const cached = fs.readdirSync(OUT).filter((f) => f.endsWith('.v8cache')).length;
console.log(
  `CLI bundle: ${path.relative(REPO, OUT)}/ (${files.length} scripts, ${cached} with a code cache)`,
);
