// Issue 21, items 2, 3, 4 and 7: the privilege boundary on the real dev server, real git repositories and
// real git configuration. An attacker who can write where the developer can (OMNI_HOME, its clones, the
// environment a worker starts from) plants code; each case asserts that no marker of foreign code appeared,
// that nothing outside redeploy's own directories changed, and that what was deployed is origin/<ref>
// plus the requested pins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { execa } from 'execa';
import { DOCKERFILE_REL } from '../../src/core/commands.js';
import type { RedeployState } from '../../src/core/state.js';
import { DEFAULT_ENV } from '../support/sandbox.js';
import {
  createHarness,
  progress,
  VERSIONS,
  waitForState,
  waitingOn,
  type Harness,
} from '../support/harness.js';
import {
  abortRun,
  assertDeployed,
  assertNoSecretLeak,
  completed,
  decide,
  exists,
  FLAGS,
  git,
  infraClone,
  originMain,
} from './support-provenance.js';

/** A hash of every file under `dir` (path, mode, bytes): "nothing changed here" in one value. */
async function treeHash(dir: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (d: string): Promise<void> => {
    const entries = await fs.readdir(d, { withFileTypes: true }).catch(() => []);
    for (const e of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(d, e.name);
      const st = await fs.lstat(p);
      h.update(`${path.relative(dir, p)}\0${st.mode}\0${st.uid}\0`);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile()) h.update(await fs.readFile(p));
      else if (e.isSymbolicLink()) h.update(await fs.readlink(p));
    }
  };
  await walk(dir);
  return h.digest('hex');
}

/** A program that leaves `marker` if anything ever runs it. */
async function plantProgram(file: string, marker: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/bin/sh\necho "$0 $*" >> '${marker}'\ncat\nexit 0\n`, { mode: 0o755 });
}

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
    const savedPath = h.sb.env['PATH'] ?? '';
    // Empty entry first (= the working directory), then OMNI_HOME itself, then the real PATH.
    h.sb.env['PATH'] = `:${h.sb.omniHome}:.:${savedPath}`;
    try {
      const handle = await h.start({ flags: FLAGS });
      const state = await completed(handle);
      assert.equal(await exists(marker), false, 'no code from OMNI_HOME ran');
      // The probe ran (no ONEX_TIER) and found no omniclaude: not FULL_ONEX from a planted module.
      assert.equal(state.phases.NOTIFY['tier'], 'EVENT_BUS');
      // The real docker stand-in answered VERIFY (the planted one would "verify" anything).
      assert.ok((await h.sb.invocations('docker')) > 0);
      await assertDeployed(h, state, await originMain(h), VERSIONS);
    } finally {
      h.sb.env['PATH'] = savedPath;
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
      assert.equal(await exists(path.join(h.sb.worktreeRoot, handle.workflowId)), false, 'no worktree made');
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
});

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

describe('hostile boundary: VERIFY redirects and passwords in URLs', { concurrency: 1 }, () => {
  let h: Harness;
  let other: http.Server;
  let redirector: http.Server;
  let otherHits = 0;
  const HEALTH_PASSWORD = 'h3alth-Pass-7781';
  const INDEX_PASSWORD = 'second-Index-Pass-4412';
  const listen = async (s: http.Server): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  };
  before(async () => {
    other = http.createServer((_q, res) => {
      otherHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}');
    });
    const otherPort = await listen(other);
    redirector = http.createServer((_q, res) => {
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/health` }).end();
    });
    const port = await listen(redirector);
    h = await createHarness('hostile-boundary-verify', {
      vars: {
        REDEPLOY_HEALTH_ENDPOINTS: JSON.stringify({
          'omninode-runtime': `http://probe:${HEALTH_PASSWORD}@127.0.0.1:${port}/health`,
        }),
      },
    });
  });
  after(async () => {
    await h.close();
    other.close();
    redirector.close();
  });

  it('a 302 to another origin is unhealthy; its password appears nowhere', async () => {
    const handle = await h.start({ flags: FLAGS });
    const waiting = await waitForState(handle, waitingOn('VERIFY'));
    assert.match(String(waiting.phases.VERIFY['error']), /omninode-runtime/);
    const detail = JSON.stringify(waiting.phases.VERIFY);
    assert.match(detail, /redirect to .*not followed/, detail);
    assert.equal(otherHits, 0, 'the other origin was never asked');
    await abortRun(handle, 'VERIFY');
    await assertNoSecretLeak(h, handle, HEALTH_PASSWORD);
  });

  it('the second URL of a comma-separated UV_INDEX keeps its password out of logs, state and history', async () => {
    const list = `https://u1:first-Index-Pass-1290@idx1.example/simple,https://u2:${INDEX_PASSWORD}@idx2.example/simple`;
    await h.sb.writeEnvFile({ ...DEFAULT_ENV, UV_INDEX: list });
    // pip names the index it is looking in, one URL at a time.
    await h.sb.setFault('deploy', {
      exitCode: 1,
      message: `Looking in indexes: https://u2:${INDEX_PASSWORD}@idx2.example/simple\nERROR: build failed`,
    });
    try {
      const handle = await h.start({ flags: FLAGS });
      const waiting = await waitForState(handle, waitingOn('DEPLOY'));
      assert.match(JSON.stringify(waiting.phases.DEPLOY['log_tail']), /https:\/\/u2:\*\*\*@idx2\.example/);
      await abortRun(handle, 'DEPLOY');
      await assertNoSecretLeak(h, handle, INDEX_PASSWORD);
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });
});
