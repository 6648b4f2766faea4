// Issue 21, items 2, 3, 4 and 7: the privilege boundary on the real dev server, real git repositories and
// real git configuration. An attacker who can write where the developer can (OMNI_HOME, its clones, the
// environment a worker starts from) plants code; each case asserts that no marker of foreign code appeared,
// that nothing outside redeploy's own directories changed, and that what was deployed is origin/<ref>
// plus the requested pins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { plantProgram } from './support-boundary.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { RedeployState } from '../../src/core/state.js';
import { createHarness, VERSIONS, type Harness } from '../support/harness.js';
import {
  assertDeployed,
  completed,
  exists,
  FLAGS,
  git,
  infraClone,
  originMain,
} from './support-provenance.js';

describe('hostile boundary: code from places others write', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('hostile-boundary');
  });
  after(() => h.close());

  it('a stray OMNI_HOME/omniclaude.py and OMNI_HOME/docker behind an empty PATH entry never run', async () => {
    const marker = path.join(h.sb.root, 'omni-home-code-ran');
    await fs.writeFile(
      path.join(h.sb.omniHome, 'omniclaude.py'),
      `open(${JSON.stringify(marker)}, 'a').write('omniclaude.py imported\\n')\n`,
    );
    await plantProgram(path.join(h.sb.omniHome, 'docker'), marker);
    await plantProgram(path.join(h.sb.omniHome, 'git'), marker);
    const plantedFiles = ['omniclaude.py', 'docker', 'git'].map((f) => path.join(h.sb.omniHome, f));
    const hashFiles = async () =>
      Promise.all(
        plantedFiles.map(async (f) =>
          createHash('sha256')
            .update(await fs.readFile(f))
            .digest('hex'),
        ),
      );
    const planted = await hashFiles();
    // origin's main read now: with the PATH below, the test's own `git` would be the planted one.
    const expected = await originMain(h);
    const savedPath = h.sb.env['PATH'] ?? '';
    // Empty entry first (= the working directory), then OMNI_HOME itself, then the real PATH.
    h.sb.env['PATH'] = `:${h.sb.omniHome}:.:${savedPath}`;
    let state: RedeployState;
    try {
      state = await completed(await h.start({ flags: FLAGS }));
    } finally {
      h.sb.env['PATH'] = savedPath;
    }
    {
      assert.equal(
        await exists(marker),
        false,
        `no code from OMNI_HOME ran: ${await fs.readFile(marker, 'utf8').catch(() => '')}`,
      );
      // The probe ran (no ONEX_TIER) and found no omniclaude: not FULL_ONEX from a planted module.
      assert.equal(state.phases.NOTIFY['tier'], 'EVENT_BUS');
      // The real docker stand-in answered VERIFY (the planted one would "verify" anything).
      assert.ok((await h.sb.invocations('docker')) > 0);
      await assertDeployed(h, state, expected, VERSIONS);
    }
    assert.deepEqual(await hashFiles(), planted, 'the planted files are untouched');
    for (const f of plantedFiles) await fs.rm(f);
  });

  it("the clone's core.hooksPath, core.fsmonitor and a filter driver never run during fetch, worktree add, status", async () => {
    const clone = infraClone(h);
    const marker = path.join(h.sb.root, 'git-config-code-ran');
    const hooks = path.join(h.sb.root, 'planted-hooks');
    for (const hook of [
      'post-checkout',
      'reference-transaction',
      'post-index-change',
      'pre-auto-gc',
      'post-merge',
    ])
      await plantProgram(path.join(hooks, hook), marker);
    await plantProgram(path.join(h.sb.root, 'planted-fsmonitor'), marker);
    await plantProgram(path.join(h.sb.root, 'planted-filter'), marker);
    const settings: [string, string][] = [
      ['core.hooksPath', hooks],
      ['core.fsmonitor', path.join(h.sb.root, 'planted-fsmonitor')],
      ['filter.evil.smudge', path.join(h.sb.root, 'planted-filter')],
      ['filter.evil.clean', path.join(h.sb.root, 'planted-filter')],
      ['filter.evil.process', path.join(h.sb.root, 'planted-filter')],
    ];
    // Set with the developer's own git, as an attacker would; info/attributes applies the filter everywhere.
    for (const [k, v] of settings) await git(h, ['config', k, v], clone);
    await fs.mkdir(path.join(clone, '.git', 'info'), { recursive: true });
    await fs.writeFile(path.join(clone, '.git', 'info', 'attributes'), '* filter=evil\n');
    let state: RedeployState;
    try {
      await h.sb.pushUpstreamCommit('omnibase_infra'); // something new to fetch
      const handle = await h.start({ flags: FLAGS });
      state = await completed(handle);
      assert.equal(
        await exists(marker),
        false,
        `no planted git program ran: ${await fs.readFile(marker, 'utf8').catch(() => '')}`,
      );
    } finally {
      for (const [k] of settings) await git(h, ['config', '--unset', k], clone).catch(() => '');
      await fs.rm(path.join(clone, '.git', 'info', 'attributes'), { force: true });
    }
    await assertDeployed(h, state, await originMain(h), VERSIONS);
  });
});
