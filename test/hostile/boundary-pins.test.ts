// Issue 21, items 2, 3, 4 and 7: the privilege boundary on the real dev server, real git repositories and
// real git configuration. An attacker who can write where the developer can (OMNI_HOME, its clones, the
// environment a worker starts from) plants code; each case asserts that no marker of foreign code appeared,
// that nothing outside redeploy's own directories changed, and that what was deployed is origin/<ref>
// plus the requested pins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { treeHash } from './support-boundary.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { DOCKERFILE_REL } from '../../src/core/commands.js';
import type { RedeployState } from '../../src/core/state.js';
import {
  createHarness,
  progress,
  VERSIONS,
  waitForState,
  waitingOn,
  type Harness,
} from '../support/harness.js';
import { abortRun, assertDeployed, completed, FLAGS, infraClone, originMain } from './support-provenance.js';

/** The seed's pin block with a pip option that takes a package name before the real requirement, twice. */
const OPTION_PINS = [
  '    --no-binary omninode-claude \\',
  '    "omninode-claude>=0.3.0,<0.5.0" \\',
  '    omniintelligence==0.6.0',
  'RUN pip install --upgrade-package omninode-claude --only-binary omniintelligence "omninode-claude~=0.3.1" omniintelligence===0.6.0',
].join('\n');

describe(
  'hostile boundary: pip options taking a package name, and the rollback proof',
  { concurrency: 1 },
  () => {
    let h: Harness;
    let original: string;
    before(async () => {
      h = await createHarness('hostile-boundary-pins', { sandbox: { pins: OPTION_PINS } });
      original = await fs.readFile(path.join(infraClone(h), DOCKERFILE_REL), 'utf8');
    });
    after(() => h.close());

    it('rewrites the requirements, never the options; every place; deploys origin plus the pins', async () => {
      const state = await completed(await h.start({ flags: FLAGS }));
      const expected = original
        .replace('"omninode-claude>=0.3.0,<0.5.0"', '"omninode-claude==0.4.0"')
        .replace('omniintelligence==0.6.0\n', 'omniintelligence==0.8.0\n')
        .replace(
          '"omninode-claude~=0.3.1" omniintelligence===0.6.0',
          '"omninode-claude==0.4.0" omniintelligence==0.8.0',
        );
      assert.notEqual(expected, original);
      assert.ok(expected.includes('--no-binary omninode-claude \\'), 'the option keeps its package name');
      assert.ok(expected.includes('--upgrade-package omninode-claude --only-binary omniintelligence '));
      const deployed = await fs.readFile(path.join(h.sb.deployRoot, '0.9.0', DOCKERFILE_REL), 'utf8');
      assert.equal(deployed, expected, 'written by hand: only the four requirements changed');
      await assertDeployed(h, state, await originMain(h), VERSIONS);
      assert.deepEqual(state.phases.WORKTREE['pins_found_raw_hits'], {
        'omninode-claude': ['>=0.3.0,<0.5.0', '~=0.3.1'],
        omniintelligence: ['==0.6.0', '===0.6.0'],
      });
    });

    it("--rollback-on-failure restores every place to its own bytes: the Dockerfile is origin's again", async () => {
      h.sb.health.setDown('intelligence-api');
      let s: RedeployState;
      try {
        const handle = await h.start({ flags: { ...FLAGS, rollbackOnFailure: true } });
        await waitForState(handle, (x) => x.rollback?.status === 'running', 90_000);
        h.sb.health.setUp('intelligence-api');
        const failure = await handle.result().then(
          () => undefined,
          (e: unknown) => (e instanceof WorkflowFailedError ? e.cause : e),
        );
        assert.ok(failure instanceof ApplicationFailure && failure.type === 'RolledBack', String(failure));
        s = await progress(handle);
      } finally {
        h.sb.health.setUp('intelligence-api');
      }
      assert.equal(s.rollback?.status, 'completed', s.rollback?.error ?? '');
      const back = await fs.readFile(path.join(s.worktree_path ?? '', DOCKERFILE_REL), 'utf8');
      assert.equal(back, original, "origin's bytes, every place");
      const deployed = await fs.readFile(path.join(h.sb.deployRoot, '0.9.0', DOCKERFILE_REL), 'utf8');
      assert.equal(deployed, original, 'and that is what was deployed again');
      const base = (
        await execa('git', ['-C', s.worktree_path ?? '', 'show', `HEAD:${DOCKERFILE_REL}`], {
          stripFinalNewline: false,
        })
      ).stdout;
      assert.equal(deployed, base, "origin/<ref>'s Dockerfile exactly");
    });
  },
);

const HEREDOC_PINS = [
  '    omniintelligence==0.6.0',
  'RUN <<EOF',
  'pip install "omninode-claude>=0.3.0,<0.5.0"',
  'EOF',
].join('\n');

describe('hostile boundary: a pin inside a heredoc', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('hostile-boundary-heredoc', { sandbox: { pins: HEREDOC_PINS } });
  });
  after(() => h.close());

  it('is refused before anything is written or deployed', async () => {
    const deployedBefore = await treeHash(h.sb.deployRoot);
    const handle = await h.start({ flags: FLAGS });
    const waiting = await waitForState(handle, waitingOn('PIN_UPDATE'));
    assert.equal(waiting.phases.PIN_UPDATE['error_type'], 'PinNotRewritable');
    assert.match(
      String(waiting.phases.PIN_UPDATE['error']),
      /omninode-claude: named in a heredoc body \(line \d+\)/,
    );
    const wt = waiting.worktree_path ?? '';
    assert.equal(
      (await execa('git', ['-C', wt, 'status', '--porcelain'])).stdout,
      '',
      "the worktree is still exactly origin's",
    );
    assert.equal(await h.sb.invocations('deploy'), 0);
    assert.equal(await treeHash(h.sb.deployRoot), deployedBefore);
    await abortRun(handle, 'PIN_UPDATE');
  });
});
