// Shared by the boundary suites (issue 21): hashes of what must not change, programs that must not run.
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/** A hash of every file under `dir` (path, mode, bytes): "nothing changed here" in one value. */
export async function treeHash(dir: string): Promise<string> {
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

/** A program that leaves `marker` if anything ever runs it (and passes stdin through, as a filter would). */
export async function plantProgram(file: string, marker: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/bin/sh\necho "$0 $*" >> '${marker}'\n[ -t 0 ] || timeout 5 cat\nexit 0\n`, {
    mode: 0o755,
  });
}
