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

/** Every file under dir, recursively (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

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
      const [a, b] = await Promise.all([redeploy(['list'], env), redeploy(['list'], env)]);
      for (const r of [a, b]) assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      const stderr = a.stderr + b.stderr;
      assert.doesNotMatch(stderr, /database is locked|did not start/);
      assert.equal(stderr.match(/started a local Temporal dev server/g)?.length, 1, stderr);
      assert.equal((await processesWith('start-dev', db)).length, 1, 'one server process for the db');
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

    it('plain output: the failure tail is printed without control characters', async () => {
      const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-infisical'], h.vars);
      assert.equal(r.exitCode, 1, r.stdout + r.stderr);
      const out = r.stdout + r.stderr;
      assert.match(out, /^ERROR in DEPLOY: deploy-runtime\.sh failed \(exit 1\): [\s\S]*tail-marker/m);
      assert.match(
        out,
        /tail-marker {4}FAKE OK \\u009b2J {2}\\u202eevil end/,
        'the text stays, the controls go',
      );
      assert.doesNotMatch(out, /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f\u202a-\u202e]/);
      await redeploy(['abort', runIdOf(r.stdout)], h.vars);
    });

    it('terminal: the live line and the failure show the text, only our own colour and cursor codes', async () => {
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
      assert.equal(r.exitCode, 1, r.stdout);
      const out = r.stdout.replace(/\r\n/g, '\n'); // the pty's own newline translation
      assert.match(out, /SYNC {7}running 0:0\d {2}\x1b\[2mhb-marker/, 'the latest output line is shown');
      assert.match(out, /tail-marker/);
      const ours = /\x1b\[(?:\d+m|\d+A|2K)/g;
      assert.match(out, ours, 'our own codes are there');
      assert.doesNotMatch(out.replace(ours, ''), /[\x00-\x08\x0b-\x1f\x7f\u0080-\u009f]/, 'nothing else');
      assert.doesNotMatch(out, /pwned/, 'no title was set');
      await redeploy(['abort', runIdOf(out)], h.vars);
    });
  });
});

describe('disk full in the state dir', { concurrency: 1 }, () => {
  let h: Harness;
  let mount: string;
  let mounted = false;
  before(async () => {
    mount = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-full-'));
    // A real small filesystem (root only; CI runs as root): writes fail with ENOSPC, as on a full disk.
    mounted =
      (await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0700', 'tmpfs', mount], { reject: false }))
        .exitCode === 0;
    h = await createHarness('hostile-full', { vars: { REDEPLOY_STATE_DIR: mount } });
  });
  after(async () => {
    await h.close();
    if (mounted) await execa('umount', [mount], { reject: false });
    await fs.rm(mount, { recursive: true, force: true });
  });

  it('the CLI says the run goes on and how to re-attach (exit 74), leaves no temp file; watch finishes it', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    // Fill it: dd stops at ENOSPC.
    await execa('dd', ['if=/dev/zero', `of=${path.join(mount, 'filler')}`, 'bs=4k'], { reject: false });
    await h.sb.setFault('deploy', { sleepSeconds: 2 });
    const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-infisical'], h.vars);
    await h.sb.clearFault('deploy');
    const id = runIdOf(r.stdout);
    assert.equal(r.exitCode, 74, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `could not write ${mount}/${id}\\.json \\(ENOSPC: no space left on device\\); no temporary file was left`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(`The run ${id} is running in [A-Z_]+ and goes on without this CLI following it`),
    );
    assert.match(r.stderr, new RegExp(`redeploy status ${id} .* redeploy watch ${id} \\(re-attaches\\)`));
    assert.deepEqual(await filesUnder(mount), ['filler'], 'no temp file, no half-written state file');

    await fs.rm(path.join(mount, 'filler'));
    const w = await redeploy(['watch', id], h.vars);
    assert.equal(w.exitCode, 0, w.stdout + w.stderr);
    const state = JSON.parse(await fs.readFile(path.join(mount, `${id}.json`), 'utf8')) as { status: string };
    assert.equal(state.status, 'completed');
    assert.equal((await h.sb.deployedPins())['omninode-claude'], '0.4.0', 'what was deployed');
    assert.deepEqual((await filesUnder(mount)).sort(), [`${id}.json`]);
  });

  it('a run that ends while the disk is full: its own exit code, and the message says the file is stale', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    const handle = await h.start({ versions: { 'omninode-claude': '0.4.0' } });
    await handle.result();
    await execa('dd', ['if=/dev/zero', `of=${path.join(mount, 'filler')}`, 'bs=4k'], { reject: false });
    try {
      const r = await redeploy(['status', handle.workflowId], h.vars);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`The run ${handle.workflowId} is completed; that file does not say so yet`),
      );
      assert.ok(!(await filesUnder(mount)).some((f) => f.endsWith('.tmp')), 'no temp file');
    } finally {
      await fs.rm(path.join(mount, 'filler'));
    }
  });
});
