import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { GIT_HARDENING, gitArgv, gitEnv, readsObjectsOnly, runGit } from '../../src/io/git.js';
import { refTree } from '../../src/io/infra-tree.js';

// Issue 23: a command that only reads objects and refs skips the `git config` read of the filter drivers
// (a dry run made 8 such spawns); anything that touches a work tree keeps the full hardening (issue 21).
describe('git: what a read-only command costs', () => {
  let dir: string;
  let repo: string;
  let marker: string;
  const env = () => gitEnv(Object.fromEntries(Object.entries(process.env).filter((e) => e[1])) as never);
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-git-cost-'));
    repo = path.join(dir, 'clone');
    marker = path.join(dir, 'filter-ran');
    const filter = path.join(dir, 'planted-filter');
    // A filter that leaves a marker and rewrites what passes through it.
    await fs.writeFile(filter, `#!/bin/sh\necho "$*" >> '${marker}'\nsed s/stored/FILTERED/\n`, {
      mode: 0o755,
    });
    const git = (...args: string[]) => execa('git', ['-C', repo, ...args], { env: env() });
    await fs.mkdir(repo);
    await git('init', '-q', '-b', 'main');
    await fs.writeFile(path.join(repo, 'Dockerfile'), 'stored bytes\n');
    await git('add', 'Dockerfile');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one');
    await git('tag', 'v1.0.0');
    // Planted after the commit, as someone who can write the clone would: it applies to every path.
    await git('config', 'filter.evil.smudge', `${filter} smudge`);
    await git('config', 'filter.evil.clean', `${filter} clean`);
    await fs.writeFile(path.join(repo, '.git', 'info', 'attributes'), '* filter=evil\n');
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('tells the object reads from the commands that touch a work tree', () => {
    for (const args of [
      ['-C', '/r', 'rev-parse', '--verify', '--quiet', 'origin/main^{commit}'],
      ['-C', '/r', 'show', 'abc123:docker/Dockerfile'],
      ['-C', '/r', 'describe', '--tags', '--abbrev=0', '--match', 'v*'],
      ['-C', '/r', 'tag', '--list', 'v*', '--sort=-v:refname'],
      ['-c', 'x=y', '-C', '/r', 'cat-file', '-p', 'HEAD:Dockerfile'],
    ])
      assert.equal(readsObjectsOnly(args), true, args.join(' '));
    for (const args of [
      ['-C', '/r', 'status', '--porcelain'],
      ['-C', '/r', 'worktree', 'add', '/w', 'origin/main'],
      ['-C', '/r', 'checkout', 'main'],
      ['-C', '/r', 'show', 'HEAD'],
      ['-C', '/r', 'tag', 'v2'],
      ['-C', '/r', 'fetch', 'origin'],
      ['-C', '/r', 'diff'],
      ['-C', '/r', 'describe', '--dirty'],
      ['-C', '/r', 'cat-file', '--filters', 'HEAD:Dockerfile'],
      ['-C', '/r', 'show', '--textconv', 'HEAD:Dockerfile'],
      // git takes unique prefixes of long options: `--filter` is `--filters`, `--dirt` is `--dirty`.
      ['-C', '/r', 'cat-file', '--filter', 'HEAD:Dockerfile'],
      ['-C', '/r', 'describe', '--always', '--dirt'],
      ['-C', '/r', 'show', '--', 'a:b'],
      ['--git-dir=/x', 'rev-parse', 'HEAD'],
      ['-C', '/r'],
    ])
      assert.equal(readsObjectsOnly(args), false, args.join(' '));
  });

  it('an object read skips the filter-driver read; a work-tree command still empties every driver', async () => {
    const read = await gitArgv(['-C', repo, 'show', 'HEAD:Dockerfile'], env());
    assert.deepEqual(read, [...GIT_HARDENING, '-C', repo, 'show', 'HEAD:Dockerfile']);
    const status = await gitArgv(['-C', repo, 'status', '--porcelain'], env());
    assert.ok(status.includes('filter.evil.smudge='), status.join(' '));
    assert.ok(status.includes('filter.evil.clean='), status.join(' '));
  });

  it('no filter runs for the object reads, without the overrides: the bytes are as stored', async () => {
    const shown = await runGit(['-C', repo, 'show', 'HEAD:Dockerfile']);
    assert.equal(shown.stdout, 'stored bytes\n');
    assert.equal((await runGit(['-C', repo, 'cat-file', '-p', 'HEAD:Dockerfile'])).stdout, 'stored bytes\n');
    assert.equal((await runGit(['-C', repo, 'describe', '--tags', '--abbrev=0'])).stdout, 'v1.0.0\n');
    assert.equal((await runGit(['-C', repo, 'tag', '--list', 'v*'])).stdout, 'v1.0.0\n');
    assert.match((await runGit(['-C', repo, 'rev-parse', 'HEAD'])).stdout, /^[0-9a-f]{40}\n$/);
    await runGit(['-C', repo, 'status', '--porcelain']);
    // Hardened as before: `cat-file --filters` would smudge, and the overrides empty the driver.
    assert.equal(
      (await runGit(['-C', repo, 'cat-file', '--filters', 'HEAD:Dockerfile'])).stdout,
      'stored bytes\n',
    );
    const ran = await fs.readFile(marker, 'utf8').catch(() => '');
    assert.equal(ran, '', `the planted filter ran: ${ran}`);
  });

  it("a commit's tree reads each file once: the run policy and the dry run share one read", async () => {
    const tree = await refTree(repo, ['nope', 'main']);
    assert.ok(tree, 'main resolves');
    const first = tree.read('Dockerfile');
    assert.equal(tree.read('Dockerfile'), first, 'the second read is the first one');
    assert.equal(await first, 'stored bytes\n');
    assert.equal(await tree.read('missing'), undefined);
  });
});
