import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { appendFileSafe, ensureOwnedDir, UnsafeDirError, writeNewFileSafe } from '../../src/io/safe-fs.js';

// The file-level rules of the write layer; test/hostile/boundary-writes.test.ts has the end-to-end cases.
describe('io/safe-fs', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-safefs-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('creates missing levels 0700 and leaves an existing 0755 directory as it is (no chmod)', async () => {
    const root = path.join(dir, 'state');
    await fs.mkdir(root, { mode: 0o755 });
    await fs.chmod(root, 0o755);
    ensureOwnedDir(root, path.join(root, 'logs', 'run'), 'REDEPLOY_STATE_DIR');
    assert.equal((await fs.stat(root)).mode & 0o777, 0o755);
    assert.equal((await fs.stat(path.join(root, 'logs'))).mode & 0o777, 0o700);
    assert.equal((await fs.stat(path.join(root, 'logs', 'run'))).mode & 0o777, 0o700);
  });

  it('an append never opens a FIFO (no hang), a hard link, a link, or a file of another user', async () => {
    const outside = path.join(dir, 'outside');
    await fs.writeFile(outside, 'keep\n');
    const cases: [string, (p: string) => Promise<unknown>, RegExp][] = [
      ['fifo', (p) => execa('mkfifo', [p]), /it is not a regular file/],
      ['hardlink', (p) => fs.link(outside, p), /it has 2 hard links/],
      ['symlink', (p) => fs.symlink(outside, p), /it is a symbolic link/],
      [
        'foreign',
        async (p) => {
          await fs.writeFile(p, '');
          await fs.chown(p, 65534, 65534);
        },
        /it is owned by nobody/,
      ],
    ];
    for (const [name, plant, message] of cases) {
      const p = path.join(dir, `${name}.log`);
      await plant(p);
      assert.throws(
        () => appendFileSafe(p, 'line\n'),
        (e: unknown) => e instanceof UnsafeDirError && message.test(e.message),
        name,
      );
    }
    assert.equal(await fs.readFile(outside, 'utf8'), 'keep\n');
  });

  it('a new file replaces a link planted at its name; the target is untouched', async () => {
    const target = path.join(dir, 'target');
    await fs.writeFile(target, 'precious\n');
    const p = path.join(dir, 'DEPLOY.pgid');
    await fs.symlink(target, p);
    await writeNewFileSafe(p, '1234');
    assert.equal(await fs.readFile(target, 'utf8'), 'precious\n');
    assert.ok((await fs.lstat(p)).isFile());
    assert.equal(await fs.readFile(p, 'utf8'), '1234');
    assert.equal((await fs.stat(p)).mode & 0o777, 0o600);
  });
});
