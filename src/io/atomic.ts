import fs from 'node:fs/promises';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Write-then-rename in the same directory, with fsync: a reader (or a crash) sees the old file or the
 * new one, never half of it. Keeps the mode of an existing file unless one is given. A failed write
 * (disk full, file size limit) removes its temporary file before the error goes on.
 * A symlink or FIFO at `file` is replaced, never written through or opened (rename swaps the name itself);
 * the temporary name is random and created exclusively (`wx`), so a link planted there is not followed.
 * npm's write-file-atomic resolves the symlink and writes at its target: docs/LIBRARIES.md.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, mode?: number): Promise<void> {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  // lstat: the mode of a link's target is not ours to copy.
  const existingMode = await fs.lstat(file).then(
    (s) => (s.isFile() ? s.mode & 0o777 : undefined),
    () => undefined,
  );
  const handle = await fs.open(tmp, 'wx', mode ?? existingMode ?? 0o644);
  try {
    try {
      await handle.writeFile(data);
      // On the descriptor of the file just created (the umask may have narrowed it): never a path chmod.
      if (mode !== undefined) await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
}
