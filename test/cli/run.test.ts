import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { legacyStateSchema } from '../../src/core/schemas.js';
import { runStateOrUndefined } from '../../src/core/parse-state.js';
import type { RedeployState } from '../../src/core/state.js';
import { PROG, PROG_RE, redeploy } from '../support/cli.js';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { activityRuns, progress } from '../support/harness.js';
import { withHarness } from '../support/suite.js';
import { statuses, statusesOf } from '../support/phases.js';

const VERSIONS = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

describe('redeploy CLI against a real server', { concurrency: 1 }, () => {
  const h = withHarness('cli');
  let env: Record<string, string>;
  const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';
  const stateFile = (id: string) => path.join(h.sb.stateDir, `${id}.json`);
  const readState = async (id: string) =>
    JSON.parse(await fs.readFile(stateFile(id), 'utf8')) as RedeployState;
  const result = async () =>
    JSON.parse(await fs.readFile(path.join(h.sb.skillResultsDir, 'ctx-cli', 'redeploy.json'), 'utf8'));

  before(() => {
    env = { ...h.vars, CLAUDE_CONTEXT_ID: 'ctx-cli' };
  });
  /** A run the CLI started that failed in DEPLOY and waits for a decision; the fault is cleared again. */
  const failedAtDeploy = async (): Promise<string> => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'broken' });
    const r = await redeploy(['--versions', VERSIONS, '--skip-sync'], env);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    await h.sb.clearFault('deploy');
    return runIdOf(r.stdout);
  };

  it('runs a full redeploy: seed line patterns, mirrored state file, skill result', async () => {
    // Watch the state file while the CLI mirrors it: every version seen must be a whole, valid file.
    const seen: string[] = [];
    let stop = false;
    const watcher = (async () => {
      while (!stop) {
        for (const f of await fs.readdir(h.sb.stateDir).catch(() => [] as string[])) {
          if (!f.endsWith('.json')) continue;
          const text = await fs.readFile(path.join(h.sb.stateDir, f), 'utf8').catch(() => '');
          if (text && seen.at(-1) !== text) seen.push(text);
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const r = await redeploy(['--versions', VERSIONS], env);
    stop = true;
    await watcher;
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const id = runIdOf(r.stdout);
    const lines = r.stdout.split('\n');
    const expect = [
      /^\[redeploy\] redeploy-\d{8}-[0-9a-f]{6} — http:\/\/\S+\/workflows\/redeploy-/,
      /^SYNC: 10 repo\(s\) up to date\. 0 failed\.$/,
      /^ENV_CHECK: POSTGRES_PASSWORD OK$/,
      /^ENV_CHECK: KAFKA_BOOTSTRAP_SERVERS OK$/,
      /^ENV_CHECK: completed$/,
      new RegExp(`^Preparing worktree \\(new branch '${id}'\\) at .*/${id}/omnibase_infra$`),
      /^ {2}omninode-claude: >=0\.3\.0,<0\.5\.0 -> 0\.4\.0$/,
      /^ {2}omniintelligence: 0\.6\.0 -> 0\.8\.0$/,
      /^DEPLOY: deploy-runtime\.sh --execute --restart -> OK$/,
      /^INFISICAL: skipped_no_infisical$/,
      /^VERIFY: omninode-runtime http:\/\/127\.0\.0\.1:\d+\/health -> 200 OK$/,
      /^VERIFY: omninode-claude Version: 0\.4\.0 \(expected 0\.4\.0\) -> OK$/,
      /^VERIFY: omniintelligence Version: 0\.8\.0 \(expected 0\.8\.0\) -> OK$/,
      new RegExp(`^\\[redeploy\\] ${id} complete$`),
      /^ {2}Pins: omninode-claude==0\.4\.0, omniintelligence==0\.8\.0$/,
      /^ {2}Phases: completed except INFISICAL \(skipped_no_infisical\)$/,
    ];
    let at = 0;
    for (const pattern of expect) {
      const found = lines.findIndex((l, i) => i >= at && pattern.test(l));
      assert.ok(found >= 0, `${pattern} not found in order after line ${at}:\n${r.stdout}`);
      at = found + 1;
    }
    const mirrored = await readState(id);
    assert.deepEqual(mirrored, await progress(h.client.workflow.getHandle(id)), 'the file equals the query');
    assert.ok(legacyStateSchema.safeParse(mirrored).success);
    const stat = await fs.stat(stateFile(id));
    assert.equal(stat.mode & 0o777, 0o600);
    // The sandbox made the state dir (0755): checked, never chmod-ed (io/safe-fs.ts); writable by nobody else.
    assert.equal((await fs.stat(h.sb.stateDir)).mode & 0o777, 0o755);
    const versionsSeen = seen.map((t) => JSON.parse(t) as RedeployState).filter((s) => s.run_id === id);
    assert.ok(versionsSeen.length >= 2, `saw ${versionsSeen.length} versions of the file`);
    const order = versionsSeen.map((v) => v.version);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'versions only move forward',
    );
    for (const s of versionsSeen) assert.ok(legacyStateSchema.safeParse(s).success);
    assert.deepEqual(await result(), {
      skill: 'redeploy',
      status: 'success',
      run_id: id,
      phases: statuses('completed', { INFISICAL: 'skipped_no_infisical' }),
      pins_applied: { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' },
      run_status: 'completed',
      error: null,
    });
  });

  it('honours --skip-sync, --skip-dockerfile-update, --skip-infisical and --worktree-ticket', async () => {
    const pulls = await h.sb.invocations('pull-all');
    // Without PIN_UPDATE a fresh worktree deploys main's pins: ask for the one main pins exactly.
    const args = [
      '--versions',
      'omniintelligence=0.6.0',
      '--skip-sync',
      '--skip-dockerfile-update',
      '--skip-infisical',
    ];
    const r = await redeploy([...args, '--worktree-ticket', 'OMN-42'], env);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const id = runIdOf(r.stdout);
    for (const p of ['SYNC', 'PIN_UPDATE', 'INFISICAL'])
      assert.match(r.stdout, new RegExp(`^${p}: skipped_by_flag$`, 'm'));
    const s = await readState(id);
    assert.equal(s.worktree_ticket, 'OMN-42');
    assert.equal(s.worktree_path, path.join(h.sb.worktreeRoot, 'OMN-42', 'omnibase_infra'));
    assert.deepEqual(
      [s.phases.SYNC.status, s.phases.PIN_UPDATE.status, s.phases.INFISICAL.status],
      ['skipped_by_flag', 'skipped_by_flag', 'skipped_by_flag'],
    );
    assert.equal(await h.sb.invocations('pull-all'), pulls, 'SYNC did not run');
    const res = await result();
    assert.equal(res.phases.PIN_UPDATE, 'skipped_by_flag');
    assert.deepEqual(res.pins_applied, {});
  });

  it('--verify-only runs VERIFY alone', async () => {
    const deploys = await h.sb.invocations('deploy');
    const r = await redeploy(['--versions', 'omniintelligence=0.6', '--verify-only', '--json'], env);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { event: string; phase?: string; status?: string; state?: RedeployState });
    assert.equal(events[0]?.event, 'started');
    const final = events.at(-1);
    assert.equal(final?.event, 'finished');
    assert.equal(final?.status, 'completed');
    const phases = final?.state?.phases ?? ({} as RedeployState['phases']);
    assert.deepEqual(statusesOf(phases), statuses('skipped_by_flag', { VERIFY: 'completed' }));
    assert.ok(events.some((e) => e.event === 'phase' && e.phase === 'VERIFY' && e.status === 'completed'));
    assert.equal(await h.sb.invocations('deploy'), deploys);
  });

  it('a failure prints the error and the resume line; --resume retries only the failed phase', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'compose build exploded' });
    const r = await redeploy(['--versions', VERSIONS, '--skip-infisical'], env);
    assert.equal(r.exitCode, 1);
    const id = runIdOf(r.stdout);
    assert.match(
      r.stdout,
      /^ERROR in DEPLOY: deploy-runtime\.sh failed \(exit 1\): [\s\S]*compose build exploded/m,
    );
    assert.match(r.stdout, new RegExp(`^ {2}Full log: .*/logs/${id}/DEPLOY\\.log$`, 'm'));
    assert.ok(
      r.stdout.includes(`Resume with: ${PROG} --resume ${id} --versions "${VERSIONS}" --skip-infisical`),
      r.stdout,
    );
    assert.equal((await result()).status, 'failed');
    assert.equal((await readState(id)).phases.DEPLOY.status, 'failed');

    const mismatch = await redeploy(['--resume', id, '--versions', 'omninode-claude=9.9.9'], env);
    assert.equal(mismatch.exitCode, 2);
    assert.match(mismatch.stderr, /does not match the versions recorded for/);

    await h.sb.clearFault('deploy');
    const resumed = await redeploy(['--resume', id, '--versions', VERSIONS, '--skip-infisical'], env);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`^Resuming ${id}: retrying DEPLOY$`, 'm'));
    const deploys = await h.sb.invocationArgs('deploy');
    assert.ok(deploys.at(-1)?.includes('--force'));
    for (const p of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const)
      assert.equal(await activityRuns(h, id, p), 1, p);
    assert.equal((await result()).status, 'success');

    const again = await redeploy(['--resume', id], env);
    assert.equal(again.exitCode, 0);
    assert.equal(again.stdout.trim(), `Run ${id} already completed; nothing to resume.`);
  });

  it('`redeploy retry` re-runs the failed phase and attaches', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'transient' });
    const r = await redeploy(['--versions', VERSIONS, '--skip-sync'], env);
    assert.equal(r.exitCode, 1);
    const id = runIdOf(r.stdout);
    await h.sb.clearFault('deploy');
    const retried = await redeploy(['retry', id], env);
    assert.equal(retried.exitCode, 0, retried.stdout + retried.stderr);
    assert.match(retried.stdout, new RegExp(`^\\[redeploy\\] ${id}: retry DEPLOY \\(by .+\\)$`, 'm'));
    assert.match(retried.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));
    const again = await redeploy(['retry', id], env);
    assert.equal(again.exitCode, 1);
    assert.match(
      again.stdout,
      new RegExp(`^${id} is not waiting for a decision \\(status: completed\\)$`, 'm'),
    );

    // The report: timings and attempts from the history, versions, verification and the decision.
    const rep = await redeploy(['report', id, '--json'], env);
    assert.equal(rep.exitCode, 0, rep.stderr);
    const report = JSON.parse(rep.stdout);
    assert.deepEqual(
      [report.phases.DEPLOY.executions, report.phases.DEPLOY.attempts, report.phases.DEPLOY.status],
      [2, 2, 'completed'],
    );
    assert.deepEqual([report.phases.SYNC.executions, report.phases.SYNC.status], [0, 'skipped_by_flag']);
    assert.equal(report.phases.ENV_CHECK.executions, 1);
    assert.ok(report.phases.DEPLOY.duration_ms > 0);
    assert.deepEqual(report.versions['omninode-claude'], { before: '>=0.3.0,<0.5.0', after: '0.4.0' });
    assert.deepEqual(
      report.decisions.map((d: { phase: string; action: string }) => [d.phase, d.action]),
      [['DEPLOY', 'retry']],
    );
    const md = await redeploy(['report', id], env);
    // Running, waited for the decision, wall time: the wait is not counted as DEPLOY's running time.
    assert.match(md.stdout, /^\| DEPLOY \| completed \| 2 \| 2 \| \d+\.\d s \| \d+\.\d s \| \d+\.\d s \|$/m);
    const d = report.phases.DEPLOY;
    assert.equal(d.running_ms + d.decision_wait_ms, d.duration_ms);
    assert.ok(d.decision_wait_ms > 0 && d.running_ms > 0, JSON.stringify(d));
    assert.match(md.stdout, /^- omninode-claude: 0\.4\.0 \(expected 0\.4\.0\) OK$/m);
    await fs.stat(path.join(h.sb.stateDir, 'reports', `${id}.md`));
  });

  it('secrets a failing script prints reach neither the CLI output, the state file nor the skill result', async () => {
    const secrets = { POSTGRES_PASSWORD: 'cli-Secret-pw-7731', SLACK_BOT_TOKEN: 'xoxb-cli-never-shown-42' };
    await h.sb.writeEnvFile({ ...DEFAULT_ENV, ...secrets });
    await h.sb.setFault('deploy', { exitCode: 1, message: 'boom', printEnv: Object.keys(secrets) });
    try {
      const r = await redeploy(['--versions', VERSIONS, '--skip-sync'], env);
      assert.equal(r.exitCode, 1);
      const id = runIdOf(r.stdout);
      assert.match(r.stdout, /SLACK_BOT_TOKEN=\*\*\*/, 'the failing line is shown, masked');
      const places = {
        stdout: r.stdout + r.stderr,
        state: await fs.readFile(stateFile(id), 'utf8'),
        result: JSON.stringify(await result()),
        json: (await redeploy(['status', id, '--json'], env)).stdout,
      };
      for (const [where, text] of Object.entries(places)) {
        for (const [name, value] of Object.entries(secrets))
          assert.ok(!text.includes(value), `${name} leaked into ${where}`);
      }
      await h.client.workflow.getHandle(id).terminate('test done');
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('--resume of a run waiting for a decision names what it carries over and prints none of it as new', async () => {
    const id = await failedAtDeploy();
    const resumed = await redeploy(['--resume', id], env);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    assert.match(
      resumed.stdout,
      /^\[redeploy\] carried over, not run again: SYNC skipped_by_flag · ENV_CHECK, WORKTREE, PIN_UPDATE completed$/m,
    );
    for (const replayed of [/^ENV_CHECK: /m, /^Preparing worktree/m, /^PIN_UPDATE: completed$/m, /^SYNC: /m])
      assert.doesNotMatch(resumed.stdout, replayed, resumed.stdout);
    assert.match(resumed.stdout, /^\[redeploy\] DEPLOY started$/m);
    assert.match(resumed.stdout, /^DEPLOY: completed$/m);
    const pins = await h.sb.deployedPins();
    assert.deepEqual(
      [pins['omninode-claude'], pins['omniintelligence']],
      ['0.4.0', '0.8.0'],
      'what was deployed',
    );
  });

  it('--resume takes only the phase from the state file: a planted one is refused by the run, which decides', async () => {
    const id = await failedAtDeploy();
    const waiting = await readState(id);
    assert.equal(waiting.pending_decision?.phase, 'DEPLOY');
    // Well-formed (the fast path reads it) but naming a phase the run is not waiting at.
    const planted = { ...waiting, pending_decision: { ...waiting.pending_decision, phase: 'VERIFY' } };
    assert.ok(runStateOrUndefined(planted), 'the planted file parses as a run state');
    await fs.writeFile(stateFile(id), JSON.stringify(planted));
    const deploys = await h.sb.invocations('deploy');
    const resumed = await redeploy(['--resume', id], env);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    assert.match(resumed.stdout, new RegExp(`^Resuming ${id}: retrying DEPLOY$`, 'm'));
    assert.doesNotMatch(resumed.stdout, /VERIFY: retry|retrying VERIFY/);
    assert.equal(await h.sb.invocations('deploy'), deploys + 1, 'DEPLOY ran once more');
    assert.equal(await activityRuns(h, id, 'VERIFY'), 1, 'VERIFY ran once, after DEPLOY');
    const pins = await h.sb.deployedPins();
    assert.deepEqual([pins['omninode-claude'], pins['omniintelligence']], ['0.4.0', '0.8.0']);
    assert.equal((await readState(id)).status, 'completed');

    // A file still saying "waiting" for a run that completed: nothing is sent, nothing runs again.
    await fs.writeFile(stateFile(id), JSON.stringify(waiting));
    const again = await redeploy(['--resume', id], env);
    assert.equal(again.exitCode, 0, again.stdout + again.stderr);
    assert.equal(again.stdout.trim(), `Run ${id} already completed; nothing to resume.`);
    assert.equal(await h.sb.invocations('deploy'), deploys + 1);
    assert.equal((await readState(id)).status, 'completed', 'the file is the run’s again');
  });

  it('--resume of an aborted run starts it again after its completed phases', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'broken' });
    const r = await redeploy(['--versions', VERSIONS, '--detach'], env);
    const id = runIdOf(r.stdout);
    const w = await redeploy(['watch', id], env);
    assert.equal(w.exitCode, 1);
    const abort = await redeploy(['abort', id], env);
    assert.equal(abort.exitCode, 1, abort.stdout + abort.stderr);
    assert.match(abort.stdout, /ERROR in DEPLOY: aborted by /);
    await h.sb.clearFault('deploy');
    const resumed = await redeploy(['--resume', id], env);
    assert.equal(resumed.exitCode, 0, resumed.stdout + resumed.stderr);
    assert.match(
      resumed.stdout,
      new RegExp(
        `^Resuming ${id}: skipping completed phases \\['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'\\]$`,
        'm',
      ),
    );
    assert.doesNotMatch(
      resumed.stdout,
      /^ENV_CHECK: POSTGRES_PASSWORD OK$/m,
      'carried phases are not replayed as new',
    );
    for (const p of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const)
      assert.equal(await activityRuns(h, id, p), 1, p);
    assert.ok(
      (await h.sb.invocationArgs('deploy')).at(-1)?.includes('--force'),
      'DEPLOY failed before: re-attempt with --force',
    );
  });

  it('--resume of a run of the old skill starts from its state file; unknown and corrupt files are refused', async () => {
    const id = 'redeploy-20260301-abc123';
    const ticket = 'legacy-ticket';
    const wt = path.join(h.sb.worktreeRoot, ticket, 'omnibase_infra');
    await execa(
      'git',
      ['-C', path.join(h.sb.omniHome, 'omnibase_infra'), 'worktree', 'add', wt, '-b', ticket],
      { env: h.sb.env },
    );
    const ts = '2026-03-01T10:00:00+00:00';
    const legacy = {
      run_id: id,
      worktree_ticket: ticket,
      worktree_path: wt,
      worktree_ref: 'main',
      versions_requested: { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' },
      started_at: ts,
      phases: {
        SYNC: { status: 'completed', ts },
        ENV_CHECK: { status: 'completed', ts },
        WORKTREE: { status: 'completed', ts, path: wt, reused: false },
        PIN_UPDATE: { status: 'failed', ts, error: 'uv: command not found' },
        DEPLOY: { status: 'pending' },
        INFISICAL: { status: 'pending' },
        VERIFY: { status: 'pending' },
        NOTIFY: { status: 'pending' },
      },
    };
    await fs.mkdir(h.sb.stateDir, { recursive: true });
    await fs.writeFile(stateFile(id), JSON.stringify(legacy, null, 2));
    const pulls = await h.sb.invocations('pull-all');
    const r = await redeploy(['--resume', id], env);
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    assert.match(
      r.stdout,
      /^Resuming redeploy-20260301-abc123: skipping completed phases \['SYNC', 'ENV_CHECK', 'WORKTREE'\]$/m,
    );
    assert.equal(await h.sb.invocations('pull-all'), pulls);
    const s = await readState(id);
    assert.equal(s.status, 'completed');
    assert.equal(s.started_at, ts);
    assert.match(
      await fs.readFile(path.join(wt, 'docker/Dockerfile.runtime'), 'utf8'),
      /"omninode-claude==0\.4\.0"/,
    );

    const missing = await redeploy(['--resume', 'redeploy-20200101-000000'], env);
    assert.equal(missing.exitCode, 1);
    assert.equal(missing.stdout.trim(), `State file not found: ${stateFile('redeploy-20200101-000000')}`);

    // A well-formed file whose ticket would escape the worktree root is refused before anything starts.
    const escaping = { ...legacy, run_id: 'redeploy-20200101-e5ca9e', worktree_ticket: '../escape' };
    await fs.writeFile(stateFile('redeploy-20200101-e5ca9e'), JSON.stringify(escaping));
    const refused = await redeploy(['--resume', 'redeploy-20200101-e5ca9e'], env);
    assert.equal(refused.exitCode, 2, refused.stdout + refused.stderr);
    assert.match(
      refused.stderr,
      /run redeploy-20200101-e5ca9e: worktreeTicket: worktree ticket contains a path separator/,
    );
    await assert.rejects(
      h.client.workflow.getHandle('redeploy-20200101-e5ca9e').describe(),
      'no run was started',
    );

    await fs.writeFile(
      stateFile('redeploy-20200101-badbad'),
      '{"run_id": "redeploy-20200101-badbad", "phases": ',
    );
    const corrupt = await redeploy(['--resume', 'redeploy-20200101-badbad'], env);
    assert.equal(corrupt.exitCode, 2);
    assert.match(
      corrupt.stderr,
      /redeploy-20200101-badbad\.json is not a valid redeploy state file:\n {2}- not JSON/,
    );
  });

  it('--resume of a running run attaches; skip and cancel act on runs', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 3 });
    const started = await redeploy(['--versions', VERSIONS, '--skip-sync', '--detach'], env);
    const id = runIdOf(started.stdout);
    const attached = await redeploy(['--resume', id], env);
    assert.equal(attached.exitCode, 0, attached.stdout + attached.stderr);
    assert.match(attached.stdout, new RegExp(`^Resuming ${id}: still running, attaching$`, 'm'));
    await h.sb.clearFault('deploy');

    h.sb.health.setDown('omninode-contract-resolver');
    try {
      const failing = await redeploy(['--versions', VERSIONS, '--skip-sync'], env);
      assert.equal(failing.exitCode, 1);
      const fid = runIdOf(failing.stdout);
      assert.match(
        failing.stdout,
        /^ERROR in VERIFY: VERIFY FAILED: Health checks failed for: omninode-contract-resolver/m,
      );
      const refused = await redeploy(['skip', '--phase', 'DEPLOY', fid], env);
      assert.equal(refused.exitCode, 1);
      assert.match(refused.stdout, /redeploy skip refused: VERIFY is waiting, not DEPLOY/);
      const skipped = await redeploy(['skip', '--phase', 'VERIFY', fid], env);
      assert.equal(skipped.exitCode, 0, skipped.stdout + skipped.stderr);
      assert.match(skipped.stdout, /Phases: completed except .*VERIFY \(skipped_by_operator\)/);
    } finally {
      h.sb.health.setUp('omninode-contract-resolver');
    }

    await h.sb.setFault('deploy', { sleepSeconds: 60 });
    try {
      const long = await redeploy(['--versions', VERSIONS, '--skip-sync', '--detach'], env);
      const lid = runIdOf(long.stdout);
      const handle = h.client.workflow.getHandle(lid);
      while ((await progress(handle).catch(() => undefined))?.phases.DEPLOY.status !== 'running')
        await new Promise((r) => setTimeout(r, 200));
      const c = await redeploy(['cancel', lid], env);
      assert.equal(c.exitCode, 0, c.stdout + c.stderr);
      assert.match(c.stdout, new RegExp(`^\\[redeploy\\] ${lid} cancelled$`, 'm'));
      const s = await readState(lid);
      assert.equal(s.status, 'cancelled');
      assert.equal(s.phases.DEPLOY.status, 'cancelled');
      const res = await result();
      assert.deepEqual([res.run_id, res.status, res.run_status], [lid, 'failed', 'cancelled']);
    } finally {
      await h.sb.clearFault('deploy');
    }
  });

  it('Ctrl-C detaches (exit 130) and `watch` re-attaches; status and list show runs', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 4 });
    try {
      const child = execa(
        process.execPath,
        [new URL('../../src/client.js', import.meta.url).pathname, '--versions', VERSIONS, '--skip-sync'],
        {
          env,
          extendEnv: false,
          reject: false,
        },
      );
      let out = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      while (!/\[redeploy\] DEPLOY started/.test(out)) await new Promise((r) => setTimeout(r, 100));
      child.kill('SIGINT');
      const r = await child;
      assert.equal(r.exitCode, 130);
      const id = runIdOf(out);
      assert.match(
        String(r.stdout),
        new RegExp(
          `Detached from ${id}; the run goes on\\. Re-attach: ${PROG_RE} watch ${id} · cancel: ${PROG_RE} cancel ${id}`,
        ),
      );
      const w = await redeploy(['watch', id], env);
      assert.equal(w.exitCode, 0, w.stdout + w.stderr);
      assert.match(w.stdout, new RegExp(`^\\[redeploy\\] ${id} complete$`, 'm'));

      const st = await redeploy(['status', id, '--json'], env);
      assert.equal(st.exitCode, 0);
      assert.equal((JSON.parse(st.stdout) as RedeployState).status, 'completed');
      const text = await redeploy(['status', id], env);
      assert.match(text.stdout, new RegExp(`^${id}: completed — http`, 'm'));
      assert.match(text.stdout, /^ {2}DEPLOY: +completed {2}\d{4}-/m);
      const l = await redeploy(['list'], env);
      assert.equal(l.exitCode, 0);
      assert.match(l.stdout, /^RUN ID\s+STATUS\s+PHASE\s+STARTED$/m);
    } finally {
      await h.sb.clearFault('deploy');
    }
  });
  it('a second redeploy of the same target waits, naming the first; --no-wait refuses; both free it on exit', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'build failed' });
    try {
      const first = await redeploy(['--versions', VERSIONS, '--skip-sync', '--skip-infisical'], env);
      assert.equal(first.exitCode, 1, 'waiting for a decision on DEPLOY');
      const holder = runIdOf(first.stdout);
      const waitLine = new RegExp(
        `waiting for ${holder} \\(started by \\S+@\\S+ at \\d{4}-\\d\\d-\\d\\dT[^)]+\\)`,
      );

      const refused = await redeploy(['--versions', VERSIONS, '--no-wait'], env);
      assert.equal(refused.exitCode, 1, refused.stdout + refused.stderr);
      assert.match(refused.stdout, new RegExp(`is busy: ${holder} \\(started by `));
      assert.match(refused.stdout, new RegExp(`${PROG_RE} cancel ${holder}`));
      const refusedResult = await result();
      assert.equal(refusedResult.status, 'failed', 'the skill result says so, not the previous run');
      assert.match(refusedResult.error, new RegExp(`is busy: ${holder}`));
      assert.doesNotMatch(
        refused.stdout,
        /\[redeploy\] redeploy-\d{8}-[0-9a-f]{6} — /,
        'nothing was started',
      );

      const second = redeploy(['--versions', VERSIONS, '--skip-sync', '--skip-infisical'], env);
      let out = '';
      second.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      for (let i = 0; i < 300 && !waitLine.test(out); i++) await new Promise((r) => setTimeout(r, 100));
      assert.match(out, waitLine);
      const waiter = runIdOf(out);
      const mirrored = await readState(waiter);
      assert.equal(mirrored.status, 'waiting_for_target', 'the state file says so too');
      assert.equal(mirrored.waiting_for?.run_id, holder);

      await h.sb.clearFault('deploy');
      const aborted = await redeploy(['abort', holder], env);
      assert.equal(aborted.exitCode, 1, aborted.stdout + aborted.stderr);
      const done = await second;
      assert.equal(done.exitCode, 0, done.stdout + done.stderr);
      assert.equal((await readState(waiter)).status, 'completed');
    } finally {
      await h.sb.clearFault('deploy');
    }
  });
  it('--rollback-on-failure: exit 1, "rolled back to" in the output, state, skill result and report', async () => {
    h.sb.health.setDown('omninode-runtime');
    try {
      const child = redeploy(
        ['--versions', VERSIONS, '--skip-sync', '--skip-infisical', '--rollback-on-failure'],
        env,
      );
      let out = '';
      child.stdout?.on('data', (c: Buffer) => (out += c.toString()));
      // The old version comes up once the rollback has started (as the real one would after its deploy).
      for (let i = 0; i < 600; i++) {
        const id = runIdOf(out);
        const state = id ? await readState(id).catch(() => undefined) : undefined;
        if (state?.rollback?.status === 'running') break;
        await new Promise((r) => setTimeout(r, 100));
      }
      h.sb.health.setUp('omninode-runtime');
      const r = await child;
      assert.equal(r.exitCode, 1, r.stdout + r.stderr);
      const id = runIdOf(r.stdout);
      const rolledBack = /rolled back to omninode-claude>=0\.3\.0,<0\.5\.0, omniintelligence==0\.6\.0/;
      assert.match(r.stdout, rolledBack);
      const state = await readState(id);
      assert.equal(state.status, 'rolled_back');
      assert.match(state.error ?? '', rolledBack);
      const res = await result();
      assert.deepEqual([res.status, res.run_status], ['failed', 'rolled_back']);
      assert.match(res.error, rolledBack);
      assert.equal(res.phases.DEPLOY, 'rolled_back');

      const rep = await redeploy(['report', id, '--json'], env);
      assert.equal(rep.exitCode, 0, rep.stderr);
      const report = JSON.parse(rep.stdout);
      assert.equal(report.rollback.status, 'completed');
      assert.deepEqual(Object.keys(report.rollback.steps), ['PIN_UPDATE', 'DEPLOY', 'VERIFY']);
      assert.equal(report.rollback.steps.DEPLOY.attempts, 1);
      assert.equal(report.phases.DEPLOY.executions, 1, "the rollback's deploy is not counted as DEPLOY's");
      const md = await redeploy(['report', id], env);
      assert.match(
        md.stdout,
        /## Rollback\n\nRolled back to omninode-claude>=0\.3\.0,<0\.5\.0, omniintelligence==0\.6\.0/,
      );
    } finally {
      h.sb.health.setUp('omninode-runtime');
    }
  });
});
