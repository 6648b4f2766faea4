import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PROG, redeploy } from '../support/cli.js';
import { statuses } from '../support/phases.js';

const FIXTURE = new URL('../../../test/fixtures/dry-run/', import.meta.url).pathname.replace(/\/$/, '');
const GOLDEN = path.join(FIXTURE, 'golden.txt');

describe('redeploy without a server: dry-run and bad input', { concurrency: 1 }, () => {
  let dir: string;
  let env: Record<string, string>;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-input-'));
    env = {
      PATH: process.env['PATH'] ?? '',
      HOME: dir,
      OMNI_HOME: path.join(FIXTURE, 'omni_home'),
      REDEPLOY_WORKTREE_ROOT: path.join(dir, 'worktrees'),
      REDEPLOY_ENV_FILE: path.join(FIXTURE, 'env'),
      REDEPLOY_STATE_DIR: path.join(dir, 'state'),
      REDEPLOY_SKILL_RESULTS_DIR: path.join(dir, 'results'),
      REDEPLOY_DEPLOY_ROOT: path.join(FIXTURE, 'deployed'),
      CLAUDE_CONTEXT_ID: 'ctx-dry',
      // Nothing listens here: a dry run or a refused input must never need it.
      TEMPORAL_ADDRESS: '127.0.0.1:1',
    };
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('--dry-run prints the seed block with resolved commands and the pin diff (golden file), no server', async () => {
    const r = await redeploy(
      ['--versions', 'omninode-claude=0.4.0,omniintelligence=0.8.0', '--dry-run', '--skip-infisical'],
      env,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    const runId = /run_id=(redeploy-\d{8}-[0-9a-f]{6})/.exec(r.stdout)?.[1] ?? '';
    const normalised = `${r.stdout.replaceAll(runId, '<RUN_ID>').replaceAll(FIXTURE, '<FIXTURE>').replaceAll(dir, '<TMP>')}\n`;
    if (process.env['REDEPLOY_UPDATE_GOLDEN']) await fs.writeFile(GOLDEN, normalised);
    assert.equal(normalised, await fs.readFile(GOLDEN, 'utf8'));
    const result = JSON.parse(await fs.readFile(path.join(dir, 'results/ctx-dry/redeploy.json'), 'utf8'));
    assert.deepEqual(result, {
      skill: 'redeploy',
      status: 'dry_run',
      run_id: runId,
      phases: statuses('pending', { INFISICAL: 'skipped_by_flag' }),
      pins_applied: {},
    });
    await assert.rejects(fs.readdir(path.join(dir, 'state')), 'a dry run writes no state file');
  });

  it('--dry-run shows skips, and warns about a package the Dockerfile does not pin', async () => {
    const r = await redeploy(
      ['--versions', 'omni-ghost=1.0.0', '--dry-run', '--skip-sync', '--skip-dockerfile-update'],
      env,
    );
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ {2}SYNC: {7}\[skipped: --skip-sync\]$/m);
    assert.match(r.stdout, /^ {2}PIN_UPDATE: \[skipped: --skip-dockerfile-update\]$/m);
    const r2 = await redeploy(['--versions', 'omni-ghost=1.0.0', '--dry-run'], env);
    assert.match(
      r2.stdout,
      /^WARNING: omni-ghost not found in docker\/Dockerfile\.runtime: PIN_UPDATE would fail$/m,
    );
  });

  it('--dry-run reads the environment as a phase does: an empty value in the env file is unset', async () => {
    // The env file's empty INFISICAL_ADDR= wins over the process's, as in the activities (core/plan.ts):
    // INFISICAL would skip itself, and ENV_CHECK would not ask for Infisical's credentials.
    const file = path.join(dir, 'empty-infisical.env');
    await fs.writeFile(file, `${await fs.readFile(path.join(FIXTURE, 'env'), 'utf8')}INFISICAL_ADDR=\n`);
    const shown = { ...env, REDEPLOY_ENV_FILE: file, INFISICAL_ADDR: 'https://infisical.example' };
    const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--dry-run'], shown);
    assert.equal(r.exitCode, 0, r.stderr);
    assert.match(r.stdout, /^ {2}INFISICAL: {2}\[skipped_no_infisical: INFISICAL_ADDR not set\]$/m);
    assert.match(r.stdout, /^ {2}ENV_CHECK: {2}verify POSTGRES_PASSWORD, KAFKA_BOOTSTRAP_SERVERS \(/m);
    // Set in the process alone, it counts.
    const r2 = await redeploy(['--versions', 'omninode-claude=0.4.0', '--dry-run'], {
      ...env,
      INFISICAL_ADDR: 'https://infisical.example',
    });
    assert.match(
      r2.stdout,
      /^ {2}ENV_CHECK: {2}verify POSTGRES_PASSWORD, KAFKA_BOOTSTRAP_SERVERS, INFISICAL_CLIENT_ID/m,
    );
    assert.doesNotMatch(r2.stdout, /skipped_no_infisical/);
  });

  const bad: [string[], RegExp, number?][] = [
    [[], /--versions is required \(unless --resume\)/],
    [['--versions', ''], /--versions is empty/],
    [['--versions', 'omniclaude'], /not of the form pkg=version/],
    [['--versions', 'a=1.0,,b=2.0'], /empty entry/],
    [['--versions', 'a=1.0,a=2.0'], /names a twice/],
    [['--versions', 'omninode-claude=0.4.0,omninode_claude=0.5.0'], /names omninode_claude twice/],
    [['--versions', 'a=latest'], /"latest" for a is not a PEP 440 version/],
    [['--versions', 'a=1.0;rm -rf /'], /is not a PEP 440 version/],
    [['--versions', 'a$(id)=1.0'], /is not a valid package name/],
    [['--versions', 'a=`reboot`'], /is not a PEP 440 version/],
    [['--versions', 'a=1', '--worktree-ticket', '../etc'], /contains a path separator/],
    [['--versions', 'a=1', '--worktree-ticket', 'a b'], /contains a space/],
    [['--versions', 'a=1', '--worktree-ticket=-rf'], /starts with "-"/],
    [['--versions', 'a=1', '--worktree-ticket', '-rf'], /argument is ambiguous/],
    [['--versions', 'a=1', '--worktree-ticket', 'x.lock'], /ends with "\.lock"/],
    [['--versions', 'a=1', '--bogus'], /Unknown option '--bogus'/],
    [
      ['--versions', 'a=1', '--verify-only', '--rollback-on-failure'],
      /cannot be combined with --verify-only/,
    ],
    [['--versions', 'a=1', '--skip-dockerfile-update', '--rollback-on-failure'], /needs PIN_UPDATE/],
    [['--versions', 'a=1', '--no-wait=yes'], /--no-wait' does not take an argument/],
    [['--versions'], /argument missing/],
    [['--versions', 'a=1', '--worktree-ticket'], /argument missing/],
    [['--resume'], /argument missing/],
    [['--resume', '../../etc/passwd'], /--resume "\.\.\/\.\.\/etc\/passwd" is not a run id/],
    [['--resume', 'redeploy-2026-abc'], /is not a run id \(expected redeploy-YYYYMMDD-xxxxxx/],
    [['--resume', 'redeploy-20260301-abc123', '--dry-run'], /--dry-run cannot be combined with --resume/],
    [['--versions', 'a=1', '--dry-run', '--detach'], /--dry-run cannot be combined with --detach/],
    [['deploy-now'], /unknown command or argument "deploy-now"/],
    [['status'], /`redeploy status` needs a run id/],
    [['status', 'not-a-run'], /run id "not-a-run" is not a run id/],
    [['skip', 'redeploy-20260301-abc123'], /`redeploy skip` needs --phase PHASE/],
    [['retry', '--phase', 'BUILD', 'redeploy-20260301-abc123'], /--phase "BUILD" is not a phase/],
    [
      ['cancel', '--phase', 'DEPLOY', 'redeploy-20260301-abc123'],
      /--phase does not apply to `redeploy cancel`/,
    ],
    [['list', 'extra'], /`redeploy list` takes no run id/],
  ];
  for (const [args, message] of bad) {
    it(`refuses ${JSON.stringify(args)} with exit 2, naming the problem`, async () => {
      const r = await redeploy(args, env);
      assert.equal(r.exitCode, 2, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
      assert.match(r.stderr, message);
      assert.ok(r.stderr.includes(`Run \`${PROG} --help\` for usage.`), r.stderr);
      assert.doesNotMatch(r.stderr, /Cannot reach Temporal/);
      await assert.rejects(fs.stat(path.join(dir, 'state')), 'no state written');
    });
  }

  it('refuses an invalid configuration with exit 2, naming each variable', async () => {
    const r = await redeploy(['--versions', 'a=1'], {
      ...env,
      REDEPLOY_HEALTH_ENDPOINTS: '{"x":"gopher://h"}',
      REDEPLOY_DECISION_TIMEOUT: 'soon',
      OMNI_HOME: 'relative',
    });
    assert.equal(r.exitCode, 2);
    assert.match(r.stderr, /^Invalid configuration:$/m);
    assert.match(r.stderr, /- OMNI_HOME: must be an absolute path/);
    assert.match(r.stderr, /- REDEPLOY_HEALTH_ENDPOINTS: x: must be an http\(s\) URL/);
    assert.match(r.stderr, /- REDEPLOY_DECISION_TIMEOUT: "soon" is not a duration \(e\.g\. 24h\)/);
  });

  it('says how to start a server when Temporal is unreachable (exit 1)', async () => {
    const r = await redeploy(['--versions', 'a=1'], env);
    assert.equal(r.exitCode, 1);
    assert.match(
      r.stderr,
      /^Cannot reach Temporal at 127\.0\.0\.1:1\. Start a local server with `temporal server start-dev`/,
    );
  });

  it('prints help and version', async () => {
    const help = await redeploy(['--help'], env);
    assert.equal(help.exitCode, 0);
    for (const flag of [
      '--versions',
      '--skip-sync',
      '--skip-dockerfile-update',
      '--skip-infisical',
      '--worktree-ticket',
      '--verify-only',
      '--dry-run',
      '--resume',
      '--detach',
      '--json',
    ]) {
      assert.ok(help.stdout.includes(flag), flag);
    }
    const version = await redeploy(['--version'], env);
    assert.match(version.stdout, /^\d+\.\d+\.\d+$/);
  });
});
