import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sandboxVars, VERSIONS } from '../support/harness.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';
import { withHarness } from '../support/suite.js';
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

function assertNone(files: string[], patterns: RegExp[], what: string): void {
  assert.ok(files.length > 0, `${what}: the trace saw no module at all`);
  for (const re of patterns) {
    const hit = files.filter((f) => re.test(f));
    assert.deepEqual(hit, [], `${what} loaded ${re}`);
  }
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

  it('--dry-run loads no Temporal SDK, no Slack SDK, no workflow code, no string-width', async () => {
    const files = (await traceModules())(['--versions', formatVersions(VERSIONS), '--dry-run'], { env });
    assert.ok(
      files.some((f) => f.endsWith('dist/src/cli/dry-run.js')),
      'the trace saw the dry run',
    );
    assertNone(
      files,
      [...NEVER, /node_modules\/@temporalio\/(client|workflow)\//, /string-width/],
      '--dry-run',
    );
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
    it(`${args.join(' ')} loads neither the worker, the workflow code, nor the Slack SDK`, async () => {
      const files = (await traceModules())(args, { env: h.vars });
      const command = args[0] === 'retry' || args[0] === 'skip' || args[0] === 'abort' ? 'decide' : args[0];
      assert.ok(
        files.some((f) => f.endsWith(`dist/src/cli/commands/${command}.js`)),
        'the trace saw the command',
      );
      assertNone(files, NEVER, args[0] ?? '');
    });
});
