import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { writeFileAtomic } from '../../src/io/atomic.js';

// The guarantees write-file-atomic does not give (docs/LIBRARIES.md): it writes through a symlink.
describe('atomic writes', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-atomic-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('writes a new file with the mode asked for, and keeps an existing mode when none is', async () => {
    const file = path.join(dir, 'state.json');
    await writeFileAtomic(file, '{}\n', 0o600);
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const dockerfile = path.join(dir, 'Dockerfile');
    await fs.writeFile(dockerfile, 'FROM x\n', { mode: 0o640 });
    await fs.chmod(dockerfile, 0o640);
    await writeFileAtomic(dockerfile, 'FROM y\n');
    assert.equal((await fs.stat(dockerfile)).mode & 0o777, 0o640);
    assert.equal(await fs.readFile(dockerfile, 'utf8'), 'FROM y\n');
  });

  it('a symlink at the target is replaced by the file, never written through', async () => {
    const outside = path.join(dir, 'outside');
    await fs.writeFile(outside, 'untouched\n', { mode: 0o644 });
    const link = path.join(dir, 'linked.json');
    await fs.symlink(outside, link);
    await writeFileAtomic(link, 'new\n', 0o600);
    assert.ok((await fs.lstat(link)).isFile(), 'a regular file now');
    assert.equal(await fs.readFile(outside, 'utf8'), 'untouched\n');
    assert.equal((await fs.stat(outside)).mode & 0o777, 0o644, "the symlink's target keeps its mode");
  });

  it('a FIFO at the target is replaced without blocking (no reader ever comes)', async () => {
    const fifo = path.join(dir, 'fifo.json');
    await execa('mkfifo', [fifo]);
    await writeFileAtomic(fifo, 'data\n', 0o600);
    assert.ok((await fs.lstat(fifo)).isFile());
    assert.equal(await fs.readFile(fifo, 'utf8'), 'data\n');
  });

  it('a write that fails leaves no temporary file, and says why', async () => {
    const target = path.join(dir, 'a-directory');
    await fs.mkdir(target);
    await fs.writeFile(path.join(target, 'keep'), '');
    await assert.rejects(writeFileAtomic(target, 'x'), /EISDIR|ENOTEMPTY|EEXIST/);
    assert.deepEqual(
      (await fs.readdir(dir)).filter((f) => f.endsWith('.tmp')),
      [],
    );
  });
});
