// Issue 21 items 2, 3, 7: the subprocess trust layer, the git runner's environment and argv, URL masking.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { FALLBACK_PATH, isolatePython, trustedPath } from '../../src/io/trusted-env.js';
import { gitEnv, runGit, unsafeRepository } from '../../src/io/git.js';
import { createMasker, maskUrlCredentials, secretValues, urlPasswords } from '../../src/io/mask.js';
import { displayUrl } from '../../src/core/provenance.js';
import { runCommand } from '../../src/io/exec.js';

describe('trusted PATH and Python', () => {
  it('drops empty, relative and OMNI_HOME entries; keeps order; falls back when nothing is left', () => {
    assert.equal(
      trustedPath('/usr/bin::.:bin:/home/dev/omni/bin:/bin:/usr/bin', ['/home/dev/omni']),
      '/usr/bin:/bin',
    );
    assert.equal(trustedPath(':.', []), FALLBACK_PATH);
    assert.equal(trustedPath(undefined), FALLBACK_PATH);
  });

  it('python3 gets -I; uv run python gets -E -s (the script directory stays importable)', () => {
    assert.deepEqual(isolatePython({ file: 'python3', args: ['-c', 'x'], cwd: '/' }).args, ['-I', '-c', 'x']);
    assert.deepEqual(isolatePython({ file: 'uv', args: ['run', 'python', 's.py'], cwd: '/' }).args, [
      'run',
      'python',
      '-E',
      '-s',
      's.py',
    ]);
    assert.deepEqual(isolatePython({ file: 'bash', args: ['x'], cwd: '/' }).args, ['x']);
  });
});

describe('subprocesses from a directory others write', { concurrency: 1 }, () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-trust-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('an empty PATH entry, `.` or an OMNI_HOME entry does not make a planted program run', async () => {
    const omni = path.join(dir, 'omni');
    const wt = path.join(dir, 'wt');
    await fs.mkdir(omni);
    await fs.mkdir(wt);
    const marker = path.join(dir, 'planted-ran');
    for (const d of [omni, wt])
      await fs.writeFile(path.join(d, 'docker'), `#!/bin/sh\ntouch '${marker}'\n`, { mode: 0o755 });
    for (const [i, PATH] of [
      `:/nonexistent-bin`,
      `.:/nonexistent-bin`,
      `${omni}:/nonexistent-bin`,
    ].entries()) {
      const r = await runCommand(
        // The working directory holds a planted `docker` too: only a relative PATH entry would find it.
        { file: 'docker', args: ['--version'], cwd: wt },
        {
          env: { PATH },
          mask: (s) => s,
          logFile: path.join(dir, 'logs', `a${i}.log`),
          untrustedDirs: [omni],
        },
      );
      assert.equal(r.exitCode, undefined, `no docker found with PATH=${PATH}`);
      await assert.rejects(fs.stat(marker));
    }
  });

  it('OMNI_HOME as the working directory is refused for anything but pull-all.sh', async () => {
    await assert.rejects(
      runCommand(
        { file: 'python3', args: ['-c', 'pass'], cwd: dir },
        {
          env: { PATH: '/usr/bin:/bin' },
          mask: (s) => s,
          logFile: path.join(dir, 'logs', 'b.log'),
          untrustedDirs: [dir],
        },
      ),
      /others can write there/,
    );
  });

  it('python3 -c does not import a module planted in its working directory', async () => {
    const marker = path.join(dir, 'module-ran');
    await fs.writeFile(path.join(dir, 'omniclaude.py'), `open(${JSON.stringify(marker)}, 'w').write('x')\n`);
    const r = await runCommand(
      { file: 'python3', args: ['-c', 'import omniclaude'], cwd: dir },
      { env: { PATH: '/usr/bin:/bin' }, mask: (s) => s, logFile: path.join(dir, 'logs', 'c.log') },
    );
    assert.notEqual(r.exitCode, 0);
    await assert.rejects(fs.stat(marker));
  });
});

describe('git runner', { concurrency: 1 }, () => {
  it("drops the process's GIT_* and SUDO_UID; keeps redeploy's own", () => {
    const env = gitEnv(
      {
        GIT_DIR: '/elsewhere/.git',
        GIT_CONFIG_PARAMETERS: "'core.hookspath'='/x'",
        SUDO_UID: '1000',
        HOME: '/root',
      },
      { GIT_INDEX_FILE: '/tmp/i' },
    );
    assert.equal(env['GIT_DIR'], undefined);
    assert.equal(env['GIT_CONFIG_PARAMETERS'], undefined);
    assert.equal(env['SUDO_UID'], undefined);
    assert.equal(env['GIT_INDEX_FILE'], '/tmp/i');
    assert.equal(env['GIT_NO_REPLACE_OBJECTS'], '1');
    assert.throws(() => gitEnv({}, { HOME: '/x' }), /not a GIT_\* variable/);
  });

  it("parses git's dubious-ownership refusal with its exact allowing line", () => {
    const u = unsafeRepository(
      "fatal: detected dubious ownership in repository at '/srv/o m/x'\nTo add an exception for this directory, call:\n\n\tgit config --global --add safe.directory '/srv/o m/x'\n",
    );
    assert.deepEqual(u, {
      path: '/srv/o m/x',
      allow: "git config --global --add safe.directory '/srv/o m/x'",
    });
    assert.equal(unsafeRepository('fatal: not a git repository'), undefined);
  });

  it('GIT_DIR in the environment does not redirect a query', async () => {
    const r = await runGit(['-C', '/', 'rev-parse', '--git-dir'], {
      env: { PATH: '/usr/bin:/bin', GIT_DIR: process.cwd() + '/.git' },
    });
    assert.notEqual(r.exitCode, 0, 'no repository at /');
  });
});

describe('URL credentials', () => {
  it('each URL of a comma- or space-separated list is its own URL', () => {
    const list =
      'https://a:pw-one-1@h1.example/simple,https://b:pw-two-2@h2.example/simple https://c:p@ss-3@h3/x';
    assert.deepEqual(urlPasswords(list), ['pw-one-1', 'pw-two-2', 'p@ss-3']);
    assert.equal(
      maskUrlCredentials(list),
      'https://a:***@h1.example/simple,https://b:***@h2.example/simple https://c:***@h3/x',
    );
    assert.deepEqual(secretValues({ UV_INDEX: list }).includes('pw-two-2'), true);
  });

  it("a password with RFC 3986's sub-delimiters is found whole; a list without paths is still read URL by URL", () => {
    assert.deepEqual(urlPasswords('postgresql://app:s3cr;et(x)@db/app'), ['s3cr;et(x)']);
    assert.deepEqual(urlPasswords('https://u:tok,en@idx/simple'), ['tok,en']);
    assert.deepEqual(urlPasswords("https://u:it's!$&*+=@h"), ["it's!$&*+="]);
    assert.deepEqual(urlPasswords('https://a:one@h1,https://h2,https://b:two@h3'), ['one', 'two']);
    assert.equal(
      maskUrlCredentials('{"url": "https://u:pw@h/x", "who": "a@b"}'),
      '{"url": "https://u:***@h/x", "who": "a@b"}',
    );
    const mask = createMasker(secretValues({ DATABASE_URL: 'postgresql://app:s3cr;et(x)@db/app' }));
    assert.ok(!mask('connecting to postgresql://app:s3cr;et(x)@db/app failed').includes('s3cr;et(x)'));
  });

  it('a 3 MB line (with and without a URL) is masked (a quadratic scan would hang here until the file times out)', () => {
    const mask = createMasker([]);
    assert.equal(mask('A'.repeat(3 * 1024 * 1024)).length, 3 * 1024 * 1024);
    assert.ok(mask(`${'A'.repeat(3 * 1024 * 1024)} http://u:pw-long-1@h/x`).endsWith('http://u:***@h/x'));
  });

  it('the masker removes a URL password no variable held; a URL without one is unchanged', () => {
    const mask = createMasker([]);
    assert.equal(
      mask('GET http://u:hunter22@127.0.0.1:8085/health -> 200'),
      'GET http://u:***@127.0.0.1:8085/health -> 200',
    );
    assert.equal(mask('http://127.0.0.1:8085/health'), 'http://127.0.0.1:8085/health');
    assert.equal(displayUrl('https://u:p@ss@github.com/o/r'), 'https://***@github.com/o/r');
  });
});
