/* eslint-disable no-control-regex -- these tests assert on terminal escape sequences and control characters */
// Local edges (issue 10, item 6): two zero-setup CLIs at once, a full state dir, a script writing escape
// sequences to the operator's terminal, tickets git refuses. Real CLI processes, real dev server, real git.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { freePort } from '../../src/io/dev-server.js';
import { CLIENT, redeploy } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';
import { temporalCli } from '../support/temporal.js';

const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';

/** Processes whose command line contains every one of these strings (from /proc). */
async function processesWith(...parts: string[]): Promise<number[]> {
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cmdline = await fs.readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    if (parts.every((p) => cmdline.includes(p))) pids.push(Number(entry));
  }
  return pids;
}

describe('local edges', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('hostile-local');
  });
  after(() => h.close());

  it('zero-setup: two CLIs started at once on an empty state dir share one dev server; both succeed', async () => {
    const stateDir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-race-'));
    const { TEMPORAL_ADDRESS: _configured, ...rest } = h.vars;
    const env = {
      ...rest,
      REDEPLOY_STATE_DIR: stateDir,
      TEMPORAL_CLI: await temporalCli(),
      REDEPLOY_EMBEDDED_PORT: String(await freePort()),
      REDEPLOY_EMBEDDED_UI_PORT: String(await freePort()),
    };
    const db = path.join(stateDir, 'temporal', 'temporal.db');
    try {
      const supervisorsBefore = (await processesWith('supervisor.js')).length;
      const [a, b] = await Promise.all([redeploy(['list'], env), redeploy(['list'], env)]);
      for (const r of [a, b]) assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      const stderr = a.stderr + b.stderr;
      assert.doesNotMatch(stderr, /database is locked|did not start/);
      assert.equal(stderr.match(/started a local Temporal dev server/g)?.length, 1, stderr);
      assert.equal((await processesWith('start-dev', db)).length, 1, 'one server process for the db');
      // …and one background worker (its supervisor started under the same lock).
      assert.equal(stderr.match(/started a background worker/g)?.length, 1, stderr);
      assert.equal((await processesWith('supervisor.js')).length - supervisorsBefore, 1, 'one supervisor');
      assert.deepEqual(
        (await fs.readdir(path.join(stateDir, 'temporal'))).filter((f) => f.includes('lock')),
        [],
        'the start lock is released',
      );
    } finally {
      await redeploy(['server', '--stop'], env);
      await fs.rm(stateDir, { recursive: true, force: true });
    }
  });

  it('tickets git refuses (HEAD, FETCH_HEAD, over 250 bytes of UTF-8, -x, x.lock) are refused before a run (exit 2)', async () => {
    const before = await fs.readdir(h.sb.worktreeRoot).catch(() => []);
    for (const ticket of ['HEAD', 'FETCH_HEAD', 'é'.repeat(128), '-x', 'x.lock', 'a\x1b]0;pwned\x07']) {
      const r = await redeploy(
        ['--versions', 'omninode-claude=0.4.0', `--worktree-ticket=${ticket}`],
        h.vars,
      );
      assert.equal(r.exitCode, 2, `${JSON.stringify(ticket)}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /--worktree-ticket ".*" (is|starts|ends|contains)/);
      assert.doesNotMatch(r.stderr, /\x1b|\x07/, 'the ticket is not echoed raw');
      assert.equal(runIdOf(r.stdout), '', 'no run started');
    }
    assert.deepEqual(await fs.readdir(h.sb.worktreeRoot).catch(() => []), before, 'no worktree made');
    assert.equal(await h.sb.invocations('deploy'), 0);
  });

  describe("a script's escape sequences never reach the terminal", () => {
    const HOSTILE = String.raw`printf 'hb-marker \033]0;pwned\007\033[2J\033[H\033[31mred\033c\r\n'
printf 'hb-marker \033]2;pwned\033\\ \033[10;10H\033[?1049h\n' >&2
sleep 4
`;
    const TAIL =
      'tail-marker \x1b]0;pwned2\x07 \x1b[2J \x1b[1A\x1b[2K \rFAKE OK\b\b \u009b2J \x1bP+q\x1b\\ \u202eevil end';
    let pullAll: string;
    let original: string;
    before(async () => {
      pullAll = path.join(h.sb.omniHome, 'docs', 'tools', 'pull-all.sh');
      original = await fs.readFile(pullAll, 'utf8');
      // The stand-in prints escape sequences for 4 s (heartbeats carry them), then syncs as usual.
      const lines = original.split('\n');
      await fs.writeFile(pullAll, [lines[0], HOSTILE, ...lines.slice(1)].join('\n'));
      await h.sb.setFault('deploy', { exitCode: 1, message: TAIL });
    });
    after(async () => {
      await fs.writeFile(pullAll, original);
      await h.sb.clearFault('deploy');
    });

    it('plain output: the failure tail is printed without control characters', async (t) => {
      const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-infisical'], h.vars);
      // Aborted whatever the assertions say: a run left waiting would hold the target for the next test.
      t.after(() => redeploy(['abort', runIdOf(r.stdout)], h.vars));
      assert.equal(r.exitCode, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /^ERROR in DEPLOY: deploy-runtime\.sh failed \(exit 1\): [\s\S]*tail-marker/m);
      assert.match(
        out,
        /tail-marker {4}FAKE OK \\u009b2J {2}\\u202eevil end/,
        'the text stays, the controls go',
      );
      assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/);
    });

    it('terminal: the live line and the failure show the text, only our own colour and cursor codes', async (t) => {
      const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
      const command = [process.execPath, CLIENT, '--versions', 'omninode-claude=0.4.0', '--skip-infisical']
        .map(quote)
        .join(' ');
      const r = await execa('script', ['-qfec', command, '/dev/null'], {
        env: { ...h.vars, TERM: 'xterm' },
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      const out = r.stdout.replace(/\r\n/g, '\n'); // the pty's own newline translation
      t.after(() => redeploy(['abort', runIdOf(out)], h.vars));
      assert.equal(r.exitCode, 1, r.stdout);
      assert.match(out, /SYNC {7}running 0:0\d {2}\x1b\[2mhb-marker/, 'the latest output line is shown');
      assert.match(out, /tail-marker/);
      const ours = /\x1b\[(?:\d+m|\d+A|2K)/g;
      assert.match(out, ours, 'our own codes are there');
      assert.doesNotMatch(out.replace(ours, ''), /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/, 'nothing else');
      assert.doesNotMatch(out, /pwned/, 'no title was set');
    });
  });
});
