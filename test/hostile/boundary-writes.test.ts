// The privilege boundary for writes (issue 21, items 1, 5, 6). redeploy runs as root over directories
// another user may write: links planted in place of each directory or file it writes, directories owned
// by another real uid (nobody) or writable by group/others, a flag given twice, SIGTERM/SIGHUP/EPIPE sent
// for real, a read-only HOME. Real CLI processes, the real dev server, real links; every planted target
// is hashed before and after.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { legacyStateSchema } from '../../src/core/schemas.js';
import { OPERATOR_COMMANDS, OPERATOR_OPTIONS, RUN_OPTIONS } from '../../src/cli/args.js';
import { freePort } from '../../src/io/dev-server.js';
import { groupAlive } from '../../src/io/exec.js';
import { CLIENT, PROG_RE, redeploy } from '../support/cli.js';
import {
  createHarness,
  newRunId,
  sleepingGroup,
  VERSIONS,
  waitForState,
  waitingOn,
  type Harness,
} from '../support/harness.js';
import { temporalCli } from '../support/temporal.js';

const VERSIONS_ARG = 'omninode-claude=0.4.0,omniintelligence=0.8.0';
const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';
const NOBODY = 65534;

/** Content, mode, owner and link target of everything at p (recursively), as one digest. */
async function fingerprint(p: string): Promise<string> {
  const h = createHash('sha256');
  const walk = async (q: string): Promise<void> => {
    const st = await fs.lstat(q).catch(() => undefined);
    if (!st) return void h.update(`${q}:absent\n`);
    h.update(`${q}:${st.mode}:${st.uid}:${st.size}:${st.mtimeMs}\n`);
    if (st.isSymbolicLink()) h.update(await fs.readlink(q));
    else if (st.isFile()) h.update(await fs.readFile(q));
    else if (st.isDirectory()) for (const e of (await fs.readdir(q)).sort()) await walk(path.join(q, e));
  };
  await walk(p);
  return h.digest('hex');
}

/** What runs is what was asked: the requested pins (the image's other pins stay as they were). */
async function assertDeployed(h: Harness): Promise<void> {
  const pins = await h.sb.deployedPins();
  assert.deepEqual(
    Object.fromEntries(Object.keys(VERSIONS).map((k) => [k, pins[k]])),
    VERSIONS,
    'deployed: the requested pins',
  );
}

/** A directory outside redeploy's with a file in it: what a planted link points at. */
async function victim(root: string, name: string): Promise<{ dir: string; file: string }> {
  const dir = path.join(root, `victim-${name}`);
  await fs.mkdir(dir, { recursive: true });
  const file = path.join(dir, 'precious');
  await fs.writeFile(file, `precious ${name}\n`, { mode: 0o644 });
  return { dir, file };
}

describe('the write boundary (io/safe-fs.ts)', { concurrency: 1 }, () => {
  let h: Harness;
  let zero: (stateDir: string) => Promise<Record<string, string>>;
  before(async () => {
    h = await createHarness('hostile-boundary');
    const cli = await temporalCli();
    // Zero-setup (embedded dev server) with a state dir of its own and ports nothing answers on.
    zero = async (stateDir) => {
      const { TEMPORAL_ADDRESS: _configured, ...rest } = h.vars;
      return {
        ...rest,
        REDEPLOY_STATE_DIR: stateDir,
        TEMPORAL_CLI: cli,
        REDEPLOY_EMBEDDED_PORT: String(await freePort()),
        REDEPLOY_EMBEDDED_UI_PORT: String(await freePort()),
      };
    };
  });
  after(() => h.close());

  it('each directory redeploy writes, planted as a link, is refused before anything starts; its target is untouched', async () => {
    const deploysBefore = await h.sb.invocations('deploy');
    for (const which of ['state', 'logs', 'temporal', 'skill-results', 'skill-context'] as const) {
      const base = await fs.mkdtemp(path.join(h.sb.root, `plant-${which}-`));
      const v = await victim(base, which);
      const stateDir = path.join(base, 'state');
      const results = path.join(base, 'results');
      const env = { ...(await zero(stateDir)), REDEPLOY_SKILL_RESULTS_DIR: results };
      const link = {
        state: stateDir,
        logs: path.join(stateDir, 'logs'),
        temporal: path.join(stateDir, 'temporal'),
        'skill-results': results,
        'skill-context': path.join(results, 'default'),
      }[which];
      await fs.mkdir(path.dirname(link), { recursive: true });
      await fs.symlink(v.dir, link);
      const before = await fingerprint(v.dir);
      const r = await redeploy(['--versions', VERSIONS_ARG, '--skip-sync'], env);
      // Only when the refusal failed to happen: a server was then started for this state dir.
      if (r.exitCode !== 2) await redeploy(['server', '--stop'], env);
      assert.equal(r.exitCode, 2, `${which}: ${r.stdout}${r.stderr}`);
      assert.equal(
        r.stderr.trim(),
        `redeploy: refusing ${link}: it is a symbolic link; redeploy writes only into real directories. ` +
          `Remove the link (\`rm ${link}\`) or set ${which.startsWith('skill') ? 'REDEPLOY_SKILL_RESULTS_DIR' : which === 'logs' ? 'REDEPLOY_LOG_DIR' : 'REDEPLOY_STATE_DIR'} to the directory it should be`,
        which,
      );
      assert.equal(runIdOf(r.stdout), '', `${which}: nothing was started`);
      assert.equal(await fingerprint(v.dir), before, `${which}: the link's target is untouched`);
    }
    assert.equal(await h.sb.invocations('deploy'), deploysBefore, 'nothing was deployed');
  });

  it("the embedded server's log and database, planted as links, are refused; their targets are untouched", async () => {
    for (const name of ['server.log', 'temporal.db', 'temporal.db-wal']) {
      const base = await fs.mkdtemp(path.join(h.sb.root, 'plant-server-'));
      const v = await victim(base, name);
      const stateDir = path.join(base, 'state');
      await fs.mkdir(path.join(stateDir, 'temporal'), { recursive: true, mode: 0o700 });
      const link = path.join(stateDir, 'temporal', name);
      await fs.symlink(v.file, link);
      const before = await fingerprint(v.dir);
      const env = await zero(stateDir);
      const r = await redeploy(['list'], env);
      if (r.exitCode !== 2) await redeploy(['server', '--stop'], env);
      assert.equal(r.exitCode, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^redeploy: refusing ${link}: it is a symbolic link\\. `, 'm'));
      assert.equal(r.stderr.trim().split('\n').length, 1, 'one line');
      assert.equal(await fingerprint(v.dir), before, `${name}: the link's target is untouched`);
    }
  });

  it('a directory owned by another user, writable by group/others, or under a parent another user owns is refused, naming it and the fix; nothing is chmod-ed', async () => {
    const cases: [string, (base: string, stateDir: string) => Promise<string>, RegExp][] = [
      [
        'owned by nobody',
        async (_b, s) => (await fs.chown(s, NOBODY, NOBODY), s),
        /it is owned by nobody, not by root who runs redeploy\. Run `chown root (\S+) && chmod go-w \1` if its content is yours, or set REDEPLOY_STATE_DIR to a directory of your own$/,
      ],
      [
        'mode 0777',
        async (_b, s) => (await fs.chmod(s, 0o777), s),
        /it is writable by group or others \(mode 0777\)\. Run `chmod go-w \S+`, or set REDEPLOY_STATE_DIR to a directory of your own$/,
      ],
      [
        'parent owned by nobody',
        async (b) => (await fs.chown(b, NOBODY, NOBODY), b),
        /it is owned by nobody, who could replace what redeploy writes below it\. Set REDEPLOY_STATE_DIR to a directory whose every parent belongs to root$/,
      ],
    ];
    for (const [name, plant, message] of cases) {
      const base = await fs.mkdtemp(path.join(h.sb.root, 'owner-'));
      const stateDir = path.join(base, 'state');
      await fs.mkdir(stateDir, { mode: 0o700 });
      await fs.writeFile(path.join(stateDir, 'keep.json'), '{}\n', { mode: 0o600 });
      const named = await plant(base, stateDir);
      const before = await fingerprint(base);
      const env = await zero(stateDir);
      const r = await redeploy(['--versions', VERSIONS_ARG], env);
      if (r.exitCode !== 2) await redeploy(['server', '--stop'], env);
      assert.equal(r.exitCode, 2, `${name}: ${r.stdout}${r.stderr}`);
      assert.equal(r.stderr.trim().split('\n').length, 1, `${name}: one line:\n${r.stderr}`);
      assert.ok(r.stderr.startsWith(`redeploy: refusing ${named}: `), `${name}: ${r.stderr}`);
      assert.match(r.stderr.trim(), message, name);
      assert.equal(await fingerprint(base), before, `${name}: no chmod, no chown, nothing written`);
    }
  });

  it('a .pgid link to an arbitrary file is unlinked and the file untouched; the run deploys what was asked', async () => {
    const runId = newRunId();
    const v = await victim(h.sb.root, 'pgid');
    const dir = path.join(h.config.logDir, runId);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    // Phases that run commands (each command's .pgid is written anew).
    for (const phase of ['SYNC', 'WORKTREE', 'DEPLOY'])
      await fs.symlink(v.file, path.join(dir, `${phase}.pgid`));
    const before = await fingerprint(v.dir);
    const handle = await h.start({ runId });
    const state = await handle.result();
    assert.equal(state.status, 'completed', JSON.stringify(state.error));
    await assertDeployed(h);
    assert.equal(await fingerprint(v.dir), before, 'the linked file is untouched (not truncated)');
    for (const f of await fs.readdir(dir))
      assert.ok(!(await fs.lstat(path.join(dir, f))).isSymbolicLink(), `${f} is no longer a link`);

    // The report of that run, with the reports dir planted as a link: refused, the target untouched.
    const reports = path.join(h.sb.stateDir, 'reports');
    const rv = await victim(h.sb.root, 'reports');
    await fs.rm(reports, { recursive: true, force: true });
    await fs.symlink(rv.dir, reports);
    const rBefore = await fingerprint(rv.dir);
    try {
      const r = await redeploy(['report', runId], h.vars);
      assert.equal(r.exitCode, 2, r.stdout + r.stderr);
      assert.match(r.stderr, new RegExp(`^redeploy: refusing ${reports}: it is a symbolic link`, 'm'));
      assert.equal(await fingerprint(rv.dir), rBefore, 'the reports link target is untouched');
    } finally {
      await fs.rm(reports, { force: true });
    }
  });

  it("a phase's .log planted as a link fails that phase with the fix; the target is untouched; retry after removing it deploys", async () => {
    const runId = newRunId();
    const v = await victim(h.sb.root, 'log');
    const dir = path.join(h.config.logDir, runId);
    await fs.mkdir(dir, { recursive: true, mode: 0o700 });
    const log = path.join(dir, 'DEPLOY.log');
    await fs.symlink(v.file, log);
    const before = await fingerprint(v.dir);
    const handle = await h.start({ runId });
    const s = await waitForState(handle, waitingOn('DEPLOY'), 120_000);
    assert.equal(s.phases.PIN_UPDATE.status, 'completed');
    assert.match(
      s.pending_decision?.error ?? '',
      new RegExp(`refusing ${log}: it is a symbolic link\\. Remove it; redeploy makes a new one`),
    );
    assert.equal(await fingerprint(v.dir), before, 'the log link target is untouched');
    await fs.rm(log);
    const r = await redeploy(['retry', runId], h.vars);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    await assertDeployed(h);
    assert.ok((await fs.lstat(log)).isFile(), 'a new, real log');
  });
});

describe('a single-value flag given twice', () => {
  it('is refused (exit 2) for every option taking a value, in every command; nothing is written', async () => {
    const stateDir = path.join(os.tmpdir(), `redeploy-dup-${process.pid}`);
    const env = { PATH: process.env['PATH'] ?? '', HOME: os.tmpdir(), REDEPLOY_STATE_DIR: stateDir };
    const valued = (o: Record<string, { type: string }>) =>
      Object.entries(o)
        .filter(([, d]) => d.type === 'string')
        .map(([n]) => n);
    const invocations: string[][] = [];
    for (const name of valued(RUN_OPTIONS)) invocations.push([`--${name}`, 'a=1', `--${name}=b=2`]);
    for (const cmd of OPERATOR_COMMANDS)
      for (const name of valued(OPERATOR_OPTIONS))
        invocations.push([cmd, `--${name}`, 'x', `--${name}`, 'y', 'redeploy-20260301-abc123']);
    invocations.push(['--versions', 'a=1', '--versions', 'b=2']);
    invocations.push(['--versions', VERSIONS_ARG, '--ref', 'main', '--ref', 'feature-x']);
    assert.ok(invocations.length >= 20, `${invocations.length} cases`);
    for (const args of invocations) {
      const r = await redeploy(args, env);
      const name = args
        .filter((a) => a.startsWith('--'))
        .at(-1)
        ?.replace(/=.*/, '');
      assert.equal(r.exitCode, 2, `${args.join(' ')}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^redeploy: ${name} was given 2 times \\(`, 'm'), args.join(' '));
    }
    await assert.rejects(fs.stat(stateDir), 'nothing was created');
  });
});

describe('signals and streams', { concurrency: 1 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await createHarness('hostile-signals', { worker: false });
    const { TEMPORAL_ADDRESS: _configured, ...rest } = h.vars;
    env = {
      ...rest,
      TEMPORAL_CLI: await temporalCli(),
      REDEPLOY_EMBEDDED_PORT: String(await freePort()),
      REDEPLOY_EMBEDDED_UI_PORT: String(await freePort()),
    };
  });
  after(async () => {
    await redeploy(['server', '--stop'], env);
    await h.close();
  });

  for (const [sig, code] of [
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    it(`${sig} to a zero-setup CLI mid-DEPLOY: the process group is stopped and logged, the CLI exits at once with the hint, the state file is whole; --resume deploys`, async (t) => {
      await h.sb.setFault('deploy', { sleepSeconds: 120 });
      const child = execa(process.execPath, [CLIENT, '--versions', VERSIONS_ARG, '--skip-sync'], {
        env,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
      });
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      while (!/\[redeploy\] DEPLOY started/.test(out)) {
        assert.equal(child.exitCode, null, `the CLI ended early:\n${out}\n${err}`);
        await sleep(100);
      }
      const id = runIdOf(out);
      const pgid = await sleepingGroup(h.config.logDir, id, 'DEPLOY');
      const sent = Date.now();
      // process.kill, not execa's kill(): that one follows up with SIGKILL after 5 s.
      process.kill(child.pid ?? 0, sig);
      const r = await child;
      const took = Date.now() - sent;
      t.diagnostic(`${sig}: the CLI exited after ${took} ms`);
      assert.equal(r.exitCode, code, out + err);
      assert.ok(took < 30_000, `exited after ${took} ms`);
      assert.match(err, new RegExp(`\\[redeploy\\] ${sig} received: detaching as Ctrl-C does`));
      // Zero-setup mode keeps a background worker (issue 20): the CLI only detaches, the run goes on there.
      assert.match(
        out,
        new RegExp(`Detached from ${id}; the run goes on\\. Re-attach: ${PROG_RE} watch ${id}`),
      );
      assert.ok(groupAlive(pgid), 'the deploy goes on in the background worker');
      // Stopping it is `cancel`: the deploy's group is stopped and logged, and the state file says so.
      const c = await redeploy(['cancel', id], env);
      assert.equal(c.exitCode, 0, c.stdout + c.stderr);
      assert.ok(!groupAlive(pgid), "the deploy's process group is gone");
      const log = await fs.readFile(path.join(h.config.logDir, id, 'DEPLOY.log'), 'utf8');
      assert.match(log, /\[redeploy\] exit \S+ \(cancelled\)/, 'the stop is logged');
      const stateFile = path.join(h.sb.stateDir, `${id}.json`);
      let state = legacyStateSchema.parse(JSON.parse(await fs.readFile(stateFile, 'utf8')));
      for (const deadline = Date.now() + 30_000; state.status !== 'cancelled' && Date.now() < deadline;) {
        await sleep(200);
        state = legacyStateSchema.parse(JSON.parse(await fs.readFile(stateFile, 'utf8')));
      }
      assert.equal(state.run_id, id);
      assert.equal(state.status, 'cancelled', 'the state file is final');
      assert.equal(state.current_phase, 'DEPLOY');

      await h.sb.clearFault('deploy');
      const resumedAt = Date.now();
      const resumed = await redeploy(['--resume', id], env);
      t.diagnostic(`--resume took ${Date.now() - resumedAt} ms`);
      assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
      await assertDeployed(h);
      const final = JSON.parse(await fs.readFile(path.join(h.sb.stateDir, `${id}.json`), 'utf8')) as {
        status: string;
      };
      assert.equal(final.status, 'completed');
    });
  }

  it('EPIPE on stdout (`redeploy … | head -1`) stops neither the run nor the mirror', async () => {
    await h.startWorker();
    try {
      const vars = { ...h.vars };
      const child = execa(process.execPath, [CLIENT, '--versions', VERSIONS_ARG, '--skip-sync'], {
        env: vars,
        extendEnv: false,
        reject: false,
        stdin: 'ignore',
        stdout: 'pipe',
      });
      let first = '';
      await new Promise<void>((resolve) =>
        child.stdout?.once('data', (d: Buffer) => {
          first = d.toString();
          // head -1 exits: the read end closes and every later write fails with EPIPE.
          child.stdout?.destroy();
          resolve();
        }),
      );
      const id = runIdOf(first);
      const r = await child;
      assert.equal(r.exitCode, 0, String(r.stderr));
      assert.doesNotMatch(String(r.stderr), /EPIPE|Unhandled|Error:/);
      const state = JSON.parse(await fs.readFile(path.join(h.sb.stateDir, `${id}.json`), 'utf8')) as {
        status: string;
      };
      assert.equal(state.status, 'completed', 'the mirror went on to the end');
      const result = JSON.parse(
        await fs.readFile(path.join(h.sb.skillResultsDir, 'default', 'redeploy.json'), 'utf8'),
      ) as { run_id: string; status: string; pins_applied: Record<string, string> };
      assert.equal(result.run_id, id);
      assert.equal(result.status, 'success');
      await assertDeployed(h);
    } finally {
      await h.stopWorker();
    }
  });
});

describe('a read-only HOME', () => {
  it('is one line naming the directory and the variable that moves it; exit 2', async (t) => {
    const home = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-rohome-'));
    const mounted =
      (await execa('mount', ['-t', 'tmpfs', '-o', 'size=64k,ro', 'tmpfs', home], { reject: false }))
        .exitCode === 0;
    try {
      if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
      const env = {
        PATH: process.env['PATH'] ?? '',
        HOME: home,
        TEMPORAL_ADDRESS: '127.0.0.1:1', // nothing is contacted: the check comes first
      };
      const r = await redeploy(['--versions', VERSIONS_ARG], env);
      assert.equal(r.exitCode, 2, r.stdout + r.stderr);
      assert.equal(
        r.stderr,
        `redeploy: cannot create ${home}/.claude/state/redeploy: EROFS (read-only file system at ${home}/.claude). ` +
          'Set REDEPLOY_STATE_DIR to a writable directory',
      );
    } finally {
      if (mounted) await execa('umount', [home], { reject: false });
      await fs.rm(home, { recursive: true, force: true });
    }
  });
});
