import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { sandboxVars, VERSIONS } from '../support/harness.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { withHarness } from '../support/suite.js';
import { redeploy } from '../support/cli.js';
import { formatVersions } from '../../src/core/versions.js';

// Issue 23: a command loads only what it needs. Asserted on the list of modules a command loaded (the
// trace of bench/scripts/module-trace.mjs), never on time.
type Trace = (args: string[], opts: { env: Record<string, string> }) => string[];
const traceModules = async (): Promise<Trace> =>
  (
    (await import(new URL('../../../bench/scripts/module-trace.mjs', import.meta.url).href)) as {
      traceModules: Trace;
    }
  ).traceModules;

/** What only running a workflow needs: the worker, the workflow code and its bundle, the Slack SDK. */
const NEVER = [
  /node_modules\/@temporalio\/worker\//,
  /workflow-bundle/,
  /dist\/src\/workflows\/index\.js$/,
  /node_modules\/@slack\//,
];

/** A chunk of the one-file build (scripts/bundle-cli.mjs names each after the modules it holds). */
const ran = (file: string, module: string): boolean =>
  file.includes('/dist/src/cli-bundle/') && file.includes(`dist_src_cli_${module}_js`);

function assertNone(files: string[], patterns: RegExp[], what: string): void {
  assert.ok(files.length > 0, `${what}: the trace saw no module at all`);
  for (const re of patterns) {
    const hit = files.filter((f) => re.test(f));
    assert.deepEqual(hit, [], `${what} loaded ${re}`);
  }
}

/**
 * No loaded script builds an Intl.Segmenter (string-width's module does at load, ~20-45 ms): checked on what
 * the scripts hold, not on their names, since the bundle merges string-width into whichever chunk imports it.
 */
function assertNoSegmenter(files: string[], what: string): void {
  const scripts = files.filter((f) => /\.(c|m)?js$/.test(f) && fs.existsSync(f));
  assert.ok(scripts.length > 0, `${what}: the trace saw no script`);
  const hits = scripts.filter((f) => fs.readFileSync(f, 'utf8').includes('Intl.Segmenter'));
  assert.deepEqual(hits, [], `${what} loaded string-width's Intl.Segmenter`);
}

describe('CLI start: what each command loads', () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  before(async () => {
    sb = await createSandbox();
    env = sandboxVars(sb, '127.0.0.1:1', 'unused');
  });
  after(() => sb.close());

  for (const args of [['--help'], ['-h'], ['--version']])
    it(`${args[0]} loads the entry, the usage text and the flags table, nothing else`, async () => {
      const files = (await traceModules())(args, { env });
      // The usage text's run options come from the flags table (core/flags.ts), which imports nothing.
      assert.deepEqual(files.map((f) => f.replace(/.*\/dist\//, 'dist/')).sort(), [
        'dist/src/cli/usage.js',
        'dist/src/client.js',
        'dist/src/core/flags.js',
      ]);
    });

  it('--dry-run runs from the one-file build (npm run build emits it), not from the ~300 modules', async () => {
    const files = (await traceModules())(['--versions', formatVersions(VERSIONS), '--dry-run'], { env });
    const rel = files.map((f) => f.replace(/.*\/dist\//, 'dist/'));
    assert.ok(rel.includes('dist/src/cli-bundle/main.cjs'), 'the bundle was loaded');
    assert.deepEqual(
      rel.filter((f) => f.startsWith('dist/src/') && !f.startsWith('dist/src/cli-bundle/')).sort(),
      // core/errors.js is shared with dist/'s modules (scripts/bundle-cli.mjs says why); the entry's usage
      // text imports the flags table (core/flags.ts, no imports).
      // bundle-loader.ts runs the bundle's scripts with their code cache, under start-flags.ts's V8 flags.
      [
        'dist/src/start-flags.js',
        'dist/src/client.js',
        'dist/src/cli/usage.js',
        'dist/src/core/flags.js',
        'dist/src/bundle-loader.js',
        'dist/src/core/errors.js',
      ].sort(),
      'no module of dist/src/ beside the entry',
    );
    assert.deepEqual(
      files.filter((f) => /node_modules\/(execa|zod)\//.test(f)),
      [],
      'execa and zod come from the bundle',
    );
  });

  it('a bundle older than cli/main.js (tsc alone after an edit) is not run: the modules are', async () => {
    const main = new URL('../../src/cli/main.js', import.meta.url);
    const before = fs.statSync(main);
    fs.utimesSync(main, before.atime, new Date(Date.now() + 60_000));
    try {
      const files = (await traceModules())(['--versions', formatVersions(VERSIONS), '--dry-run'], { env });
      assert.ok(
        files.some((f) => f.endsWith('dist/src/cli/main.js')),
        'the modules ran',
      );
      assert.ok(!files.some((f) => f.includes('/cli-bundle/')), 'the stale bundle did not');
    } finally {
      fs.utimesSync(main, before.atime, before.mtime);
    }
  });

  it("an error from dist/'s modules outside the bundle (redeploy worker, no server) prints as the CLI's own", async () => {
    // worker.js and its modules load from dist/, the CLI from the bundle: one CliError class for both.
    const r = await redeploy(['worker'], env);
    assert.equal(r.exitCode, 1, r.stderr);
    assert.match(r.stderr, /^Cannot reach Temporal at 127\.0\.0\.1:1\./);
  });

  it('the bundle resolves its import.meta.url paths (package.json, the supervisor) from where it sits', () => {
    const dir = new URL('../../src/cli-bundle/', import.meta.url);
    let seen = 0;
    for (const name of fs.readdirSync(dir).filter((n) => n.endsWith('.cjs'))) {
      const code = fs.readFileSync(new URL(name, dir), 'utf8');
      assert.doesNotMatch(code, /file:\/\/\//, `${name}: a build-time path`);
      // import.meta.url is __bundleUrl in the bundle's scripts (scripts/bundle-cli.mjs).
      for (const m of code.matchAll(/new URL\(['"]([^'"]+)['"], ?__bundleUrl\)/g)) {
        seen++;
        assert.ok(
          fs.existsSync(new URL(m[1] ?? '', new URL(name, dir))),
          `${name}: ${m[1]} does not resolve`,
        );
      }
    }
    assert.ok(seen >= 2, 'the bundle holds usage.ts and io/embedded.ts');
  });

  it('--dry-run loads no Temporal SDK, no Slack SDK, no workflow code, no string-width', async () => {
    const files = (await traceModules())(['--versions', formatVersions(VERSIONS), '--dry-run'], { env });
    assert.ok(
      files.some((f) => f.endsWith('dist/src/cli/dry-run.js') || ran(f, 'commands_dry-run')),
      'the trace saw the dry run',
    );
    assertNone(
      files,
      [
        ...NEVER,
        /node_modules\/@temporalio\/(client|workflow)\//,
        /temporalio_client/,
        /string-width/,
        /fit-columns/,
      ],
      '--dry-run',
    );
    assertNoSegmenter(files, '--dry-run');
  });
});

describe('CLI start: decision and read commands against a real server', { concurrency: 1 }, () => {
  const h = withHarness('lazy-load', { worker: false });
  // A run Temporal does not know: each command loads its module, asks, and ends with RunNotFound.
  const unknown = 'redeploy-20260101-abc123';
  for (const args of [
    ['retry', unknown],
    ['skip', '--phase', 'DEPLOY', unknown],
    ['abort', unknown],
    ['cancel', unknown],
    ['status', unknown],
  ])
    it(`${args.join(' ')} loads neither the worker, the workflow code, the Slack SDK, nor string-width`, async () => {
      const files = (await traceModules())(args, { env: h.vars });
      const command = args[0] === 'retry' || args[0] === 'skip' || args[0] === 'abort' ? 'decide' : args[0];
      assert.ok(
        files.some((f) => f.endsWith(`dist/src/cli/commands/${command}.js`) || ran(f, `commands_${command}`)),
        'the trace saw the command',
      );
      assertNone(files, NEVER, args[0] ?? '');
      // Not a TTY here: the live view's column fitting (string-width, Intl.Segmenter) stays unloaded.
      assertNoSegmenter(files, args[0] ?? '');
    });
});
