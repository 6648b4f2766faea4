// Byte-exact pins (issue 10, item 5) on the real dev server and real git repos: a Dockerfile with every
// awkward form; the run changes only the specifiers, the dry-run diff is what PIN_UPDATE writes, and a
// rollback gives back the original bytes (and deploys what they say).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { worktreePathFor, DOCKERFILE_REL } from '../../src/core/commands.js';
import type { RedeployState } from '../../src/core/state.js';
import { redeploy } from '../support/cli.js';
import { createHarness, newRunId, progress, waitForState, type Harness } from '../support/harness.js';

/** Marker, `===`, `~=`, a shell comment after a command, comment lines, CRLF on some lines. */
const PINS = [
  `    "omninode-claude>=0.3.0,<0.5.0 ; python_version >= '3.11'" \\\r`,
  `    'omninode-memory>=0.9.0,<2.0.0;python_version<"3.13"' \\`,
  '    # omniintelligence==0.1.0 (old pin, keep)',
  '    omniintelligence===0.6.0 \\\r',
  '    "omnibase-core~=1.2" \\',
  '    omnibase_spi>=0.4.0 # omniintelligence==0.0.1 omninode-claude==0.0.1',
].join('\n');
const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const VERSIONS_ARG = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

describe('byte-exact pins on a real run', { concurrency: 1 }, () => {
  let h: Harness;
  let original: Buffer;
  before(async () => {
    h = await createHarness('hostile-pins', { sandbox: { pins: PINS } });
    original = await fs.readFile(path.join(h.sb.omniHome, 'omnibase_infra', DOCKERFILE_REL));
  });
  after(() => h.close());

  it('changes only the specifiers; the dry-run diff is the change PIN_UPDATE writes', async () => {
    const ticket = `pins-${newRunId().slice(-6)}`;
    const args = ['--versions', VERSIONS_ARG, '--skip-sync', '--skip-infisical', '--worktree-ticket', ticket];
    const dry = await redeploy([...args, '--dry-run'], h.vars);
    assert.equal(dry.exitCode, 0, dry.stdout + dry.stderr);
    const r = await redeploy(args, h.vars);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);

    const written = await fs.readFile(
      path.join(worktreePathFor(h.config.worktreeRoot, ticket), DOCKERFILE_REL),
    );
    const expected = original
      .toString('utf8')
      .replace(`"omninode-claude>=0.3.0,<0.5.0 ; python_version`, `"omninode-claude==0.4.0 ; python_version`)
      .replace('omniintelligence===0.6.0 \\\r', 'omniintelligence==0.8.0 \\\r');
    assert.equal(written.toString('utf8'), expected, 'only the two specifiers changed, CRLF kept');

    // The dry run's diff names exactly the lines that changed, as written (a terminal shows no \r).
    const was = original.toString('utf8').split('\n');
    const now = written.toString('utf8').split('\n');
    const changed = now.flatMap((line, i) => (line === was[i] ? [] : [`-${was[i]}`, `+${line}`]));
    const diff = dry.stdout.split('\n').filter((l) => /^[-+] /.test(l));
    assert.deepEqual(
      diff,
      changed.map((l) => l.replace(/\r$/, '')),
    );
    assert.equal((await h.sb.deployedPins())['omniintelligence'], '0.8.0', 'what was deployed');
    assert.equal((await h.sb.deployedPins())['omninode-claude'], '0.4.0');
    assert.equal((await h.sb.deployedPins())['omninode-memory'], '>=0.9.0,<2.0.0', 'untouched');
  });

  it('--rollback-on-failure writes the original bytes back (===, marker, CRLF) and deploys them', async () => {
    h.sb.health.setDown('intelligence-api');
    try {
      const handle = await h.start({
        versions: VERSIONS,
        flags: {
          skipSync: true,
          skipDockerfileUpdate: false,
          skipInfisical: true,
          verifyOnly: false,
          rollbackOnFailure: true,
        },
      });
      await waitForState(handle, (s) => s.rollback?.status === 'running', 90_000);
      h.sb.health.setUp('intelligence-api');
      const failure = await handle.result().then(
        () => undefined,
        (e: unknown) => (e instanceof WorkflowFailedError ? e.cause : e),
      );
      assert.ok(failure instanceof ApplicationFailure && failure.type === 'RolledBack', String(failure));
      const s: RedeployState = await progress(handle);
      assert.equal(s.rollback?.status, 'completed', s.rollback?.error ?? '');
      assert.deepEqual(s.rollback?.to, { 'omninode-claude': '>=0.3.0,<0.5.0', omniintelligence: '===0.6.0' });
      const back = await fs.readFile(path.join(s.worktree_path ?? '', DOCKERFILE_REL));
      assert.ok(back.equals(original), `byte for byte what the worktree started with:\n${back.toString()}`);
      const diff = await execa('git', ['-C', s.worktree_path ?? '', 'status', '--porcelain'], {
        reject: false,
      });
      assert.equal(diff.stdout, '', 'git sees no change either');
      const deployed = await h.sb.deployedPins();
      assert.equal(deployed['omniintelligence'], '0.6.0', '`===0.6.0` deployed again, not `=0.6.0`');
      assert.equal(deployed['omninode-claude'], '>=0.3.0,<0.5.0');
    } finally {
      h.sb.health.setUp('intelligence-api');
    }
  });
});
