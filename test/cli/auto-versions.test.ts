import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { redeploy } from '../support/cli.js';
import { sandboxVars } from '../support/harness.js';
import { createSandbox, type Sandbox } from '../support/sandbox.js';

describe('--versions auto', { concurrency: 1 }, () => {
  let sb: Sandbox;
  let env: Record<string, string>;
  before(async () => {
    sb = await createSandbox({
      tags: {
        omniclaude: ['v0.3.0', 'v0.4.0'],
        omnimemory: ['v0.6.1'],
        omniintelligence: ['v0.8.0rc1', 'v0.8.0'],
      },
    });
    // A dry run needs no server: an address nothing listens on proves it.
    env = sandboxVars(sb, '127.0.0.1:1', 'unused');
  });
  after(() => sb.close());

  it('takes each plugin version from the latest v* tag of its repo', async () => {
    const r = await redeploy(['--versions', 'auto', '--dry-run'], env);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(
      r.stdout,
      /^\[redeploy\] --versions auto: omninode-claude=0\.4\.0,omninode-memory=0\.6\.1,omninode-intelligence=0\.8\.0$/m,
    );
    assert.match(
      r.stdout,
      /docker exec omninode-runtime uv pip show omninode-claude omninode-memory omninode-intelligence/,
    );
  });

  it('refuses with exit 2, naming the repo, when a plugin repo has no v* tag', async () => {
    await execa('git', ['-C', `${sb.omniHome}/omnimemory`, 'tag', '-d', 'v0.6.1'], { env: sb.env });
    const r = await redeploy(['--versions', 'auto', '--dry-run'], env);
    assert.equal(r.exitCode, 2);
    assert.match(
      r.stderr,
      /--versions auto: no v\* tag in .*\/omnimemory \(for omninode-memory\); give --versions explicitly/,
    );
  });

  it('cannot be combined with --resume', async () => {
    const r = await redeploy(['--resume', 'redeploy-20260301-abc123', '--versions', 'auto'], env);
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /--versions auto cannot be combined with --resume/);
  });
});
