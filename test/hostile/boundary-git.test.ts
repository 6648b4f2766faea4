// Issue 21, items 2, 3, 4 and 7: the privilege boundary on the real dev server, real git repositories and
// real git configuration. An attacker who can write where the developer can (OMNI_HOME, its clones, the
// environment a worker starts from) plants code; each case asserts that no marker of foreign code appeared,
// that nothing outside redeploy's own directories changed, and that what was deployed is origin/<ref>
// plus the requested pins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { plantProgram, treeHash } from './support-boundary.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { RedeployState } from '../../src/core/state.js';
import { createHarness, VERSIONS, waitForState, type Harness } from '../support/harness.js';
import {
  assertDeployed,
  completed,
  decide,
  exists,
  FLAGS,
  git,
  infraClone,
  originMain,
} from './support-provenance.js';

describe(
  'hostile boundary: git steered from the environment, a repository owned by another user',
  { concurrency: 1 },
  () => {
    let h: Harness;
    before(async () => {
      h = await createHarness('hostile-boundary-git');
    });
    after(() => h.close());

    it("GIT_DIR and GIT_CONFIG_* in the worker's environment do not redirect the fetch, the checks or the deploy", async () => {
      // A foreign repository with a deploy script of its own, its `origin/main` pointing at that commit.
      const foreign = path.join(h.sb.root, 'foreign');
      await git(h, ['clone', '-q', path.join(h.sb.originsDir, 'omnibase_infra.git'), foreign], h.sb.root);
      const marker = path.join(h.sb.root, 'foreign-deploy-ran');
      await fs.writeFile(
        path.join(foreign, 'scripts', 'deploy-runtime.sh'),
        `#!/usr/bin/env bash\necho foreign > '${marker}'\nexit 0\n`,
        { mode: 0o755 },
      );
      await git(h, ['commit', '-qam', 'foreign deploy script'], foreign);
      await git(h, ['update-ref', 'refs/remotes/origin/main', 'HEAD'], foreign);
      const hooks = path.join(h.sb.root, 'env-hooks');
      await plantProgram(path.join(hooks, 'post-checkout'), marker);
      const extra = {
        GIT_DIR: path.join(foreign, '.git'),
        GIT_WORK_TREE: foreign,
        GIT_CONFIG_COUNT: '1',
        GIT_CONFIG_KEY_0: 'core.hooksPath',
        GIT_CONFIG_VALUE_0: hooks,
      };
      const foreignBefore = await treeHash(foreign);
      Object.assign(h.sb.env, extra);
      let state: RedeployState;
      try {
        state = await completed(await h.start({ flags: FLAGS }));
      } finally {
        for (const k of Object.keys(extra)) delete h.sb.env[k];
      }
      assert.equal(await exists(marker), false, 'neither the foreign script nor a hook ran');
      assert.equal(await treeHash(foreign), foreignBefore, 'the foreign repository was not touched');
      await assertDeployed(h, state, await originMain(h), VERSIONS);
    });

    it('a clone owned by another user (nobody) is refused with the exact safe.directory line; following it works', async () => {
      const clone = infraClone(h);
      const deployedBefore = await treeHash(h.sb.deployRoot);
      const deploysBefore = await h.sb.invocations('deploy');
      await execa('chown', ['-R', 'nobody', clone]);
      const gitconfig = path.join(h.sb.homeDir, '.gitconfig');
      const configBefore = await fs.readFile(gitconfig, 'utf8').catch(() => '');
      try {
        const handle = await h.start({ flags: FLAGS });
        // ENV_CHECK reads the clone's origin/<ref> first: whichever phase meets the clone first refuses it.
        const waiting = await waitForState(handle, (x) => x.status === 'waiting_for_decision');
        const phase = waiting.pending_decision?.phase ?? 'WORKTREE';
        const error = String(waiting.phases[phase]['error']);
        assert.equal(waiting.phases[phase]['error_type'], 'RepositoryNotOwned', error);
        const line = `git config --global --add safe.directory ${clone}`;
        assert.ok(error.includes(line), error);
        assert.equal(
          await exists(path.join(h.sb.worktreeRoot, handle.workflowId)),
          false,
          'no worktree made',
        );
        assert.equal(await h.sb.invocations('deploy'), deploysBefore, 'nothing deployed');
        assert.equal(await treeHash(h.sb.deployRoot), deployedBefore);
        // The operator runs the printed line (as root, whose global config is in HOME) and retries.
        const [cmd, ...args] = line.split(' ');
        await execa(cmd ?? 'git', args, {
          env: { HOME: h.sb.homeDir, PATH: process.env['PATH'] ?? '/usr/bin:/bin' },
          extendEnv: false,
        });
        await decide(handle, phase, 'retry');
        const state = await completed(handle, { decisions: 1 });
        await assertDeployed(h, state, await originMain(h), VERSIONS);
      } finally {
        await execa('chown', ['-R', 'root', clone]);
        await fs.writeFile(gitconfig, configBefore);
      }
    });
  },
);
