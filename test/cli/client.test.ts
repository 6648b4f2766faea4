import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { execa } from 'execa';
import { createHarness, type Harness } from '../support/harness.js';
import { newRunId } from '../../src/cli/run-id.js';

const CLIENT = new URL('../../src/client.js', import.meta.url).pathname;

describe('redeploy client (subprocess, real server)', () => {
  let h: Harness;
  const cli = (args: string[], extra: Record<string, string> = {}) =>
    execa(process.execPath, [CLIENT, ...args], {
      env: { ...h.vars, ...extra },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });

  before(async () => {
    h = await createHarness('client');
  });
  after(() => h.close());

  it('generates run ids of the seed shape', () => {
    assert.match(newRunId(new Date('2026-03-01T10:00:00Z')), /^redeploy-20260301-[0-9a-f]{6}$/);
    assert.notEqual(newRunId(), newRunId());
  });

  it('runs a redeploy to completion and prints the summary', async () => {
    const r = await cli([
      '--versions',
      'omninode-claude=0.4.0,omniintelligence=0.8.0',
      '--skip-sync',
      '--skip-infisical',
    ]);
    assert.equal(r.exitCode, 0, r.stderr + r.stdout);
    const runId =
      /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) started — http:\/\/\S+\/namespaces\/default\/workflows\/\1/.exec(
        r.stdout,
      )?.[1];
    assert.ok(runId, r.stdout);
    assert.match(r.stdout, /^SYNC: skipped_by_flag$/m);
    assert.match(r.stdout, /^DEPLOY: completed$/m);
    assert.match(
      r.stdout,
      new RegExp(
        `^\\[redeploy\\] ${runId} complete\\n  Pins: omninode-claude==0\\.4\\.0, omniintelligence==0\\.8\\.0\\n  Phases: all completed$`,
        'm',
      ),
    );
  });

  it('exits 1 with the phase error and a resume hint when a phase fails', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'compose build exploded' });
    try {
      const r = await cli(['--versions', 'omninode-claude=0.4.0', '--skip-sync', '--skip-dockerfile-update']);
      assert.equal(r.exitCode, 1);
      assert.match(
        r.stdout,
        /^ERROR in DEPLOY: deploy-runtime\.sh failed \(exit 1\): [\s\S]*compose build exploded/m,
      );
      const runId = /started — .*\/workflows\/(redeploy-\S+)/.exec(r.stdout)?.[1] ?? '';
      assert.ok(
        r.stdout.includes(
          `Resume with: redeploy --resume ${runId} --versions "omninode-claude=0.4.0" --skip-sync --skip-dockerfile-update`,
        ),
        r.stdout,
      );
      await h.client.workflow.getHandle(runId).terminate('test done');
    } finally {
      await h.sb.clearFault('deploy');
    }
  });

  it('refuses bad input with exit 2 before connecting, naming every problem', async () => {
    const cases: [string[], RegExp][] = [
      [[], /--versions is required/],
      [['--versions', 'a=1.0,a=2.0'], /names a twice/],
      [['--versions', 'a=1.0;rm -rf /'], /not a PEP 440 version/],
      [['--versions', 'a=1', '--worktree-ticket', '../etc'], /contains a path separator/],
      [['--versions', 'a=1', '--bogus'], /Unknown option '--bogus'/],
      [['--versions'], /argument missing/],
    ];
    const listing = async () => (await fs.readdir(h.sb.stateDir, { recursive: true })).sort();
    const before = await listing();
    for (const [args, message] of cases) {
      // An unreachable address proves nothing was contacted: the error is about the input only.
      const r = await cli(args, { TEMPORAL_ADDRESS: '127.0.0.1:1' });
      assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, message, args.join(' '));
      assert.doesNotMatch(r.stderr, /Cannot reach Temporal/);
    }
    assert.deepEqual(await listing(), before, 'no file written');
  });

  it('names every configuration problem by variable, exit 2', async () => {
    const r = await cli(['--versions', 'a=1'], {
      REDEPLOY_HEALTH_ENDPOINTS: 'not json',
      REDEPLOY_VERIFY_TIMEOUT: 'x',
    });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /Invalid configuration:\n {2}- REDEPLOY_HEALTH_ENDPOINTS: must be a JSON object/);
    assert.match(r.stderr, /- REDEPLOY_VERIFY_TIMEOUT: "x" is not a duration/);
  });

  it('says how to start a server when Temporal is unreachable', async () => {
    const r = await cli(['--versions', 'a=1'], { TEMPORAL_ADDRESS: '127.0.0.1:1' });
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /^Cannot reach Temporal at 127\.0\.0\.1:1\. Start a local server with `temporal server start-dev`/,
    );
  });
});
