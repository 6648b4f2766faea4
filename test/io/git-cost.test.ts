import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { GIT_HARDENING, gitArgv, gitEnv, readsObjectsOnly, runGit, runsNoFilter } from '../../src/io/git.js';
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
    // For the batched tree reads: a BOM, bytes that are not UTF-8, a directory, a file over the limit.
    await fs.writeFile(path.join(repo, 'bom.txt'), '\ufeffwith a BOM\r\n');
    await fs.writeFile(path.join(repo, 'latin1.txt'), Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
    await fs.mkdir(path.join(repo, 'dir'));
    await fs.writeFile(path.join(repo, 'dir', 'inner'), 'x\n');
    await fs.writeFile(path.join(repo, 'big'), Buffer.alloc(9 * 1024 * 1024, 0x61));
    await git('add', '.');
    await git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'one');
    await git('tag', 'v1.0.0');
    // Planted after the commit, as someone who can write the clone would: it applies to every path.
    await git('config', 'filter.evil.smudge', `${filter} smudge`);
    await git('config', 'filter.evil.clean', `${filter} clean`);
    await fs.writeFile(path.join(repo, '.git', 'info', 'attributes'), '* filter=evil\n');
  });
  after(async () => {
    await fs.rm(dir, { recursive: true, force: true });
    await fs.rm(`${dir}-bin`, { recursive: true, force: true });
  });

  it('tells the object reads from the commands that touch a work tree', () => {
    for (const args of [
      ['-C', '/r', 'rev-parse', '--verify', '--quiet', 'origin/main^{commit}'],
      ['-C', '/r', 'show', 'abc123:docker/Dockerfile'],
      ['-C', '/r', 'describe', '--tags', '--abbrev=0', '--match', 'v*'],
      ['-C', '/r', 'tag', '--list', 'v*', '--sort=-v:refname'],
      ['-c', 'x=y', '-C', '/r', 'cat-file', '-p', 'HEAD:Dockerfile'],
      ['-C', '/r', 'cat-file', '--batch'],
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
      // Only `--batch` itself: its other forms and companions are other options.
      ['-C', '/r', 'cat-file', '--batch=%(objectname)'],
      ['-C', '/r', 'cat-file', '--batch', '--filters'],
      ['-C', '/r', 'cat-file', '--batch', '--textconv'],
      ['-C', '/r', 'cat-file', '--batch-all-objects'],
      ['-C', '/r', 'cat-file', '--batch-command'],
      ['-C', '/r', 'cat-file', '--batch-check'],
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

  it('tells the commands that can run no filter (the worktree checks) from those that can', () => {
    const sha = 'a'.repeat(40);
    for (const args of [
      ['-C', '/w', 'log', '--format=%h %s', `${sha}..${sha}`],
      ['-c', 'log.showSignature=false', '-C', '/w', 'log', '--format=%h %s', `${sha}..HEAD`],
      ['-C', '/w', 'rev-list', '--count', `HEAD..${sha}`],
      ['-C', '/w', 'read-tree', sha],
      ['-C', '/w', 'diff-index', '--cached', '-z', '--no-renames', '--name-status', sha],
      ['-C', '/w', 'ls-files', '-z', '--others', '--exclude-per-directory=.gitignore'],
      ['-C', '/w', 'branch', '--show-current'],
      ['-C', '/r', 'remote', 'get-url', 'origin'],
      ['-C', '/r', 'ls-remote', '--symref', 'origin', 'HEAD'],
      ['-C', '/r', 'worktree', 'prune'],
      ['-C', '/w', 'clean', '-ffdX', '-q'],
      // and every object read
      ['-C', '/r', 'show', 'abc123:docker/Dockerfile'],
    ])
      assert.equal(runsNoFilter(args), true, args.join(' '));
    for (const args of [
      // without --cached, diff-index hashes work-tree files (through the clean filter)
      ['-C', '/w', 'diff-index', '-z', '--name-status', sha],
      ['-C', '/w', 'diff-index', '--cached', '-p', sha],
      ['-C', '/w', 'read-tree', '-u', '-m', sha],
      ['-C', '/w', 'read-tree', '--reset', '-u', sha],
      ['-C', '/w', 'log', '-p', 'HEAD'],
      ['-C', '/w', 'log', '--textconv', 'HEAD'],
      ['-C', '/w', 'log', '--ext-diff', 'HEAD'],
      ['-C', '/w', 'log', '--format=%h', '--', 'a'],
      ['-C', '/w', 'ls-files', '-m'],
      ['-C', '/w', 'ls-files', '--modified', '-z'],
      ['-C', '/w', 'branch', '-D', 'x'],
      ['-C', '/w', 'branch'],
      ['-C', '/r', 'remote', 'add', 'x', 'y'],
      ['-C', '/r', 'remote', 'get-url'],
      ['-C', '/r', 'worktree', 'add', '/w', 'main'],
      ['-C', '/r', 'worktree', 'prune', '-v'],
      ['-C', '/w', 'clean', '-ffdx'],
      ['-C', '/w', 'add', '-u'],
      ['-C', '/w', 'status', '--porcelain'],
      ['-C', '/r', 'fetch', 'origin'],
      ['-C', '/w', 'checkout', '--', 'Dockerfile'],
      ['-C', '/w', 'merge', '--ff-only', sha],
      ['--git-dir=/x', 'log', '--format=%h'],
    ])
      assert.equal(runsNoFilter(args), false, args.join(' '));
  });

  it('the worktree checks run no planted filter: a throwaway index read, hashed, compared, listed', async () => {
    const index = path.join(dir, 'throwaway-index');
    const own = { GIT_INDEX_FILE: index };
    const head = (await runGit(['-C', repo, 'rev-parse', 'HEAD'])).stdout.trim();
    await fs.writeFile(path.join(repo, 'Dockerfile'), 'stored bytes, edited\n');
    await fs.writeFile(path.join(repo, 'untracked'), 'x\n');
    try {
      assert.equal((await runGit(['-C', repo, 'read-tree', head], { own })).exitCode, 0);
      // `add -u` hashes work-tree files through the clean filter: it keeps the overrides, so none runs.
      const add = await gitArgv(['-C', repo, 'add', '-u'], env());
      assert.ok(add.includes('filter.evil.clean='), add.join(' '));
      assert.equal((await runGit(['-C', repo, 'add', '-u'], { own })).exitCode, 0);
      const diff = await runGit(
        ['-C', repo, 'diff-index', '--cached', '-z', '--no-renames', '--name-status', head],
        { own },
      );
      assert.equal(diff.stdout, 'M\0Dockerfile\0');
      const others = await runGit(
        ['-C', repo, 'ls-files', '-z', '--others', '--exclude-per-directory=.gitignore'],
        { own },
      );
      assert.equal(others.stdout, 'untracked\0');
      assert.equal((await runGit(['-C', repo, 'log', '--format=%h %s', `${head}..${head}`])).stdout, '');
      assert.equal((await runGit(['-C', repo, 'rev-list', '--count', `${head}..${head}`])).stdout, '0\n');
      assert.equal((await runGit(['-C', repo, 'clean', '-ffdX', '-q'])).exitCode, 0);
      // What was hashed is the bytes on disk, not a filter's output.
      const blob = (await runGit(['-C', repo, 'ls-files', '-s'], { own })).stdout.split(/\s+/)[1] ?? '';
      assert.equal((await runGit(['-C', repo, 'cat-file', '-p', blob])).stdout, 'stored bytes, edited\n');
    } finally {
      await runGit(['-C', repo, 'checkout', '--', 'Dockerfile']);
      await fs.rm(path.join(repo, 'untracked'), { force: true });
      await fs.rm(index, { force: true });
    }
    const ran = await fs.readFile(marker, 'utf8').catch(() => '');
    assert.equal(ran, '', `the planted filter ran: ${ran}`);
  });

  it('a read over its limit fails: no first bytes passed off as the whole file', async () => {
    // `big` is 9 MiB: git prints it all and exits 0, and execa keeps only the first `maxBuffer` bytes.
    const r = await runGit(['-C', repo, 'show', 'HEAD:big'], { env: env(), maxBuffer: 1024 });
    assert.equal(r.exitCode, undefined);
    assert.match(r.stderr, /git printed more than 1024 bytes: output not used/);
    const fits = await runGit(['-C', repo, 'show', 'HEAD:Dockerfile'], { env: env(), maxBuffer: 1024 });
    assert.deepEqual([fits.exitCode, fits.stdout], [0, 'stored bytes\n']);
  });

  it("a commit's tree reads each file once: the run policy and the dry run share one read", async () => {
    const tree = await refTree(repo, ['nope', 'main']);
    assert.ok(tree, 'main resolves');
    const first = tree.read('Dockerfile');
    assert.equal(tree.read('Dockerfile'), first, 'the second read is the first one');
    assert.equal(await first, 'stored bytes\n');
    assert.equal(await tree.read('missing'), undefined);
  });

  it("a tree's reads asked for together, and its prefetch, are one `git cat-file --batch`, with `git show`'s bytes", async () => {
    // A git on PATH that logs its subcommand, then runs the real one (not beside the clone: no `git` is
    // looked up there).
    const bin = `${dir}-bin`;
    const log = path.join(dir, 'git-calls');
    const real = (await execa('sh', ['-c', 'command -v git'])).stdout.trim();
    await fs.mkdir(bin, { recursive: true });
    await fs.writeFile(path.join(bin, 'git'), `#!/bin/sh\necho "$*" >> '${log}'\nexec '${real}' "$@"\n`, {
      mode: 0o755,
    });
    const treeEnv = { ...env(), PATH: `${bin}:${process.env['PATH'] ?? ''}` };
    const tree = await refTree(repo, ['main'], treeEnv, ['latin1.txt', 'missing', 'dir']);
    assert.ok(tree?.commit, 'main resolves');
    const [docker, bom, missing] = await Promise.all([
      tree.read('Dockerfile'),
      tree.read('bom.txt'),
      tree.read('nope/missing'),
    ]);
    const shown = async (rel: string) => {
      const r = await runGit(['-C', repo, 'show', `${tree.commit}:${rel}`]);
      return r.exitCode === 0 ? r.stdout : undefined;
    };
    assert.equal(docker, 'stored bytes\n');
    assert.equal(bom, await shown('bom.txt'));
    assert.equal(missing, undefined);
    // The prefetched files were read with them: no git runs for these.
    const calls = () => fs.readFile(log, 'utf8').then((t) => t.trim().split('\n'));
    const before = await calls();
    assert.equal(await tree.read('latin1.txt'), await shown('latin1.txt'));
    assert.equal(await tree.read('missing'), undefined);
    // Not a blob: `git show` as before (a directory's listing).
    assert.equal(await tree.read('dir'), await shown('dir'));
    assert.deepEqual(
      before.map((c) => c.split(' ').slice(-3).join(' ')),
      ['--verify --quiet main^{commit}', `${repo} cat-file --batch`, `${repo} show ${tree.commit}:dir`],
    );
    assert.equal((await calls()).length, before.length, 'the prefetched reads ran no git');
    // Over the limit (4 MiB): no file, as a directory's file over it. This one (9 MiB) is cut off in
    // the batch's buffer: the file after it is read again.
    const fresh = await refTree(repo, ['main'], treeEnv);
    const [big, after] = await Promise.all([fresh?.read('big'), fresh?.read('Dockerfile')]);
    assert.equal(big, undefined);
    assert.equal(after, 'stored bytes\n');
    assert.equal((await calls()).filter((c) => c.endsWith('cat-file --batch')).length, 3);
    const ran = await fs.readFile(marker, 'utf8').catch(() => '');
    assert.equal(ran, '', `the planted filter ran: ${ran}`);
  });
  it('a fetch runs none of the clone’s housekeeping, however its config asks for it', async () => {
    const origin = path.join(dir, 'origin.git');
    const clone = path.join(dir, 'housekept');
    const plain = (...args: string[]) => execa('git', args, { env: env() });
    await plain('clone', '-q', '--bare', repo, origin);
    await plain('clone', '-q', origin, clone);
    const commit = async (n: number) => {
      const work = path.join(dir, `push-${n}`);
      await plain('clone', '-q', origin, work);
      await fs.writeFile(path.join(work, `f${n}`), `${n}\n`);
      await plain('-C', work, 'add', '.');
      await plain('-C', work, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', `c${n}`);
      await plain('-C', work, 'push', '-q', 'origin', 'HEAD:main');
    };
    // Several packs, and a config whose every fetch would repack them into one, in the foreground.
    for (const n of [1, 2, 3]) {
      await commit(n);
      await plain('-C', clone, '-c', 'fetch.unpackLimit=1', 'fetch', '-q', 'origin');
    }
    for (const [k, v] of Object.entries({
      'gc.auto': '1',
      'gc.autoPackLimit': '1',
      'gc.autoDetach': 'false',
      'maintenance.auto': 'true',
      'maintenance.autoDetach': 'false',
      'fetch.unpackLimit': '1',
    }))
      await plain('-C', clone, 'config', k, v);
    const packs = async () =>
      (await fs.readdir(path.join(clone, '.git/objects/pack'))).filter((f) => f.endsWith('.pack')).length;
    const before = await packs();
    assert.ok(before >= 3, `${before} packs to start with`);
    await commit(4);
    await runGit(['-C', clone, 'fetch', '-q', 'origin']);
    assert.equal(await packs(), before + 1, 'our fetch added its pack and repacked nothing');
    // The same fetch by git itself, with the clone's config: it does repack (so the check above can fail).
    await commit(5);
    await plain('-C', clone, 'fetch', '-q', 'origin');
    assert.ok((await packs()) < before + 2, 'git alone ran its housekeeping');
  });
});
