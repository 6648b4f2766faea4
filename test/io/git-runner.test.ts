// Issue 22 item 2: one io/git module for every git call. A source scan (no git runs): git is started
// only by io/git.ts's runGit, or from a CommandSpec that io/exec.ts hardens with io/git.ts.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { GIT_HARDENING } from '../../src/io/git.js';
import { trustedSpec } from '../../src/io/exec.js';
import { fetchRefCommand, worktreeAddCommand } from '../../src/core/commands.js';

const SRC = new URL('../../../src/', import.meta.url).pathname;

async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await fs.readdir(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await sources(full)));
    else if (entry.name.endsWith('.ts')) out.push(full);
  }
  return out;
}

describe('one git runner', () => {
  it('no source starts git itself: execa("git") only in io/git.ts, git CommandSpecs only in core/commands.ts', async () => {
    const offenders: string[] = [];
    for (const file of await sources(SRC)) {
      const rel = path.relative(SRC, file);
      const text = await fs.readFile(file, 'utf8');
      if (rel !== path.join('io', 'git.ts') && /execa(Sync)?\(\s*['"`]git['"`]/.test(text))
        offenders.push(`${rel}: execa('git')`);
      if (rel !== path.join('core', 'commands.ts') && /file:\s*['"`]git['"`]/.test(text))
        offenders.push(`${rel}: a git CommandSpec`);
      if (/runCommand\(\s*\{\s*file:\s*['"`]git/.test(text))
        offenders.push(`${rel}: runCommand({ file: 'git' })`);
    }
    assert.deepEqual(offenders, []);
  });

  it('the git commands that run through io/exec.ts (fetch, worktree add) get io/git.ts hardening', async () => {
    for (const spec of [
      fetchRefCommand('/omni', 'main'),
      worktreeAddCommand('/omni', '/wt/T-1', 'T-1', 'abc'),
    ]) {
      const { spec: run, env } = await trustedSpec(spec, { PATH: '/usr/bin:/bin', GIT_DIR: '/elsewhere' });
      assert.deepEqual(run.args.slice(0, GIT_HARDENING.length), [...GIT_HARDENING]);
      assert.deepEqual(run.args.slice(-spec.args.length), spec.args);
      assert.equal(env['GIT_DIR'], undefined);
      assert.equal(env['GIT_NO_REPLACE_OBJECTS'], '1');
    }
  });
});
