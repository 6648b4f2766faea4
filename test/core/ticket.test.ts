import os from 'node:os';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { ticketProblems } from '../../src/core/ticket.js';

/** Real git's verdict: `git check-ref-format --branch` exits non-zero for a name it refuses. */
function gitRefuses(name: string): boolean {
  try {
    // Outside any repository: inside one, `--branch` expands `@{-1}` to the previously checked-out branch.
    execFileSync('git', ['check-ref-format', '--branch', name], { stdio: 'ignore', cwd: os.tmpdir() });
    return false;
  } catch {
    return true;
  }
}

const TRICKY = [
  'HEAD',
  '-rf',
  '--force',
  'a.lock',
  'x.lock',
  'a..b',
  '.hidden',
  'trailing.',
  'a b',
  'tab\there',
  'esc\x1b[2J',
  'del\x7f',
  'a~1',
  'a^2',
  'a:b',
  'a?',
  'a*',
  'a[0]',
  'a\\b',
  'a@{1}',
  '@{-1}',
  'a//b',
  'a/',
  'a/.b',
];
/** Names git takes as branches but redeploy refuses: why is in ticket.ts. */
const STRICTER = [
  '@',
  'FETCH_HEAD',
  'ORIG_HEAD',
  'MERGE_HEAD',
  'head',
  'a/b',
  'refs/heads/x',
  'x'.repeat(251),
  'é'.repeat(128), // 128 characters, 256 bytes: one too many for a directory name
];
const ORDINARY = [
  'OMN-1234',
  'redeploy-20260301-abc123',
  'hotfix_2.1',
  'ahead',
  'é'.repeat(125),
  'a{b}',
  'x'.repeat(250),
];

describe('worktree tickets against real git', () => {
  for (const name of TRICKY) {
    it(`git and redeploy both refuse ${JSON.stringify(name)}`, () => {
      assert.equal(gitRefuses(name), true, 'git refuses it (else the list is wrong)');
      assert.notDeepEqual(ticketProblems(name), [], 'redeploy refuses it too');
    });
  }
  for (const name of STRICTER) {
    it(`redeploy refuses ${JSON.stringify(name.slice(0, 20))} (${new TextEncoder().encode(name).length} bytes), which git would take`, () => {
      assert.equal(gitRefuses(name), false);
      assert.notDeepEqual(ticketProblems(name), []);
    });
  }
  for (const name of ORDINARY) {
    it(`both accept ${JSON.stringify(name.slice(0, 20))}`, () => {
      assert.equal(gitRefuses(name), false);
      assert.deepEqual(ticketProblems(name), []);
    });
  }
  it('counts bytes, not characters, and says so', () => {
    assert.match(ticketProblems('é'.repeat(128)).join(), /256 bytes long \(UTF-8\); at most 250/);
    assert.match(ticketProblems('FETCH_HEAD').join(), /"FETCH_HEAD", a name git keeps for itself/);
  });
});
