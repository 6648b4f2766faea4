import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpdate } from '../../src/workflows/messages.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { Phase, PhaseStatus } from '../../src/core/phases.js';
import { DEFAULT_DOCKERFILE, DEFAULT_ENV } from '../support/sandbox.js';
import { activityRuns, waitForState, waitingOn, createHarness } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

const FLAGS = { skipSync: true, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false };
const completed = (...phases: Phase[]) =>
  Object.fromEntries(
    phases.map((p) => [p, { status: 'completed' as PhaseStatus, ts: '2026-11-25T00:00:00.000Z' }]),
  );

/** A resume seed with every phase but NOTIFY done: runs NOTIFY alone. */
const ALL_BUT_NOTIFY = completed(
  'SYNC',
  'ENV_CHECK',
  'WORKTREE',
  'PIN_UPDATE',
  'DEPLOY',
  'INFISICAL',
  'VERIFY',
);

describe('phase behaviour', { concurrency: 1 }, () => {
  const h = withHarness('phases');

  it('ENV_CHECK names every missing variable; after the file is fixed, retry passes', async () => {
    await h.sb.writeEnvFile({ INFISICAL_ADDR: 'https://infisical.invalid', INFISICAL_CLIENT_ID: 'id' });
    try {
      const handle = await h.start({ flags: FLAGS });
      const waiting = await waitForState(handle, waitingOn('ENV_CHECK'));
      const record = waiting.phases.ENV_CHECK;
      assert.equal(
        record['missing'],
        'POSTGRES_PASSWORD, KAFKA_BOOTSTRAP_SERVERS, INFISICAL_CLIENT_SECRET, INFISICAL_PROJECT_ID',
      );
      assert.match(
        String(record['error']),
        /POSTGRES_PASSWORD not set; KAFKA_BOOTSTRAP_SERVERS not set; .* \(INFISICAL_ADDR is set\)\. Add to .*\.env, then retry/,
      );
      assert.equal(record['error_type'], 'MissingEnv');
      assert.equal(
        await activityRuns(h, handle.workflowId, 'ENV_CHECK'),
        1,
        'a missing variable is not retried automatically',
      );

      await h.sb.writeEnvFile(DEFAULT_ENV); // the operator fixes the file (and drops Infisical)
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase: 'ENV_CHECK' }] });
      const state = await handle.result();
      assert.equal(state.status, 'completed');
      assert.deepEqual(state.phases.ENV_CHECK['checked'], ['POSTGRES_PASSWORD', 'KAFKA_BOOTSTRAP_SERVERS']);
      assert.equal(state.phases.INFISICAL.status, 'skipped_no_infisical');
    } finally {
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('SYNC names a missing clone and does not retry it', async () => {
    const moved = path.join(h.sb.root, 'omnidash.moved');
    await fs.rename(path.join(h.sb.omniHome, 'omnidash'), moved);
    try {
      const handle = await h.start();
      const waiting = await waitForState(handle, waitingOn('SYNC'));
      assert.equal(waiting.phases.SYNC['error_type'], 'SyncRepoMissing');
      assert.match(
        String(waiting.phases.SYNC['error']),
        /pull-all\.sh failed \(exit 1\): omnidash MISSING — clone the missing repos under .* or use --skip-sync/,
      );
      assert.equal(await activityRuns(h, handle.workflowId, 'SYNC'), 1, 'a missing clone is not retried');
      await handle.terminate('test done');
    } finally {
      await fs.rename(moved, path.join(h.sb.omniHome, 'omnidash'));
    }
  });

  it('WORKTREE cannot be skipped, and a stale branch of the ticket name is refused', async () => {
    const ticket = 'OMN-stale-1';
    const clone = path.join(h.sb.omniHome, 'omnibase_infra');
    await execa('git', ['-C', clone, 'branch', ticket], { env: h.sb.env });
    await h.sb.pushUpstreamCommit('omnibase_infra'); // main moves on; the branch stays behind
    const handle = await h.start({ worktreeTicket: ticket, flags: FLAGS });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    assert.equal(waiting.phases.WORKTREE['error_type'], 'BranchExists');
    assert.match(
      String(waiting.phases.WORKTREE['error']),
      /branch 'OMN-stale-1' already exists .* not at origin\/main \([0-9a-f]{12}\)\. Use another --worktree-ticket, or delete it: git -C .* branch -D OMN-stale-1/,
    );
    await assert.rejects(
      handle.executeUpdate(decideUpdate, { args: [{ action: 'skip', phase: 'WORKTREE' }] }),
      (e: unknown) => /WORKTREE cannot be skipped/.test(String((e as { cause?: Error }).cause?.message)),
    );
    await handle.terminate('test done');
  });

  it('INFISICAL seeds with seed-infisical.py when INFISICAL_ADDR is set', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      INFISICAL_ADDR: 'https://infisical.invalid',
      INFISICAL_CLIENT_ID: 'client-id',
      INFISICAL_CLIENT_SECRET: 'client-secret-xyz',
      INFISICAL_PROJECT_ID: '123e4567-e89b-12d3-a456-426614174000',
    });
    try {
      const handle = await h.start({ flags: FLAGS });
      const state = await handle.result();
      assert.equal(state.phases.INFISICAL.status, 'completed');
      assert.equal(state.phases.INFISICAL['script'], 'scripts/seed-infisical.py');
      const [args] = await h.sb.invocationArgs('seed-infisical');
      assert.deepEqual(args?.slice(-3), ['--contracts-dir', 'src/omnibase_infra/nodes', '--execute']);
    } finally {
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('WORKTREE reuses a worktree already on the ticket branch', async () => {
    const ticket = 'OMN-reuse-1';
    const wt = path.join(h.sb.worktreeRoot, ticket, 'omnibase_infra');
    await execa(
      'git',
      ['-C', path.join(h.sb.omniHome, 'omnibase_infra'), 'worktree', 'add', wt, '-b', ticket],
      { env: h.sb.env },
    );
    const handle = await h.start({ worktreeTicket: ticket, flags: FLAGS });
    const state = await handle.result();
    assert.deepEqual(
      { path: state.phases.WORKTREE['path'], reused: state.phases.WORKTREE['reused'] },
      { path: wt, reused: true },
    );
    assert.equal(state.worktree_path, wt);
  });

  it('WORKTREE refuses a worktree on another branch, and says how to fix it', async () => {
    const ticket = 'OMN-wrong-1';
    const wt = path.join(h.sb.worktreeRoot, ticket, 'omnibase_infra');
    await execa(
      'git',
      ['-C', path.join(h.sb.omniHome, 'omnibase_infra'), 'worktree', 'add', wt, '-b', 'someone-else'],
      { env: h.sb.env },
    );
    const handle = await h.start({ worktreeTicket: ticket, flags: FLAGS });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    assert.equal(waiting.phases.WORKTREE['error_type'], 'WorktreeWrongBranch');
    assert.match(
      String(waiting.phases.WORKTREE['error']),
      /is on branch 'someone-else', expected 'OMN-wrong-1'\. Use another --worktree-ticket, or remove it/,
    );
    await handle.terminate('test done');
  });

  it('PIN_UPDATE names an unmatched package and leaves the Dockerfile untouched', async () => {
    const handle = await h.start({
      flags: FLAGS,
      versions: { 'omninode-claude': '0.4.0', 'omni-nothing': '1.0.0' },
    });
    const waiting = await waitForState(handle, waitingOn('PIN_UPDATE'));
    assert.match(
      String(waiting.phases.PIN_UPDATE['error']),
      /^omni-nothing not found in .*Dockerfile\.runtime/,
    );
    assert.deepEqual(waiting.phases.PIN_UPDATE['unmatched'], ['omni-nothing']);
    const dockerfile = await fs.readFile(
      path.join(waiting.worktree_path ?? '', 'docker/Dockerfile.runtime'),
      'utf8',
    );
    assert.equal(dockerfile, DEFAULT_DOCKERFILE);
    await handle.terminate('test done');
  });

  it('VERIFY reports every failing endpoint and every mismatch at once', async () => {
    h.sb.health.setDown('omninode-runtime');
    h.sb.health.setDown('omninode-contract-resolver', 500);
    try {
      // verify-only against what earlier tests deployed (0.4.0 / 0.8.0): every check fails, all reported together.
      const handle = await h.start({
        flags: { ...FLAGS, verifyOnly: true },
        versions: { 'omninode-claude': '9.9.9', omniintelligence: '0.6.0', 'omninode-ghost': '1.0.0' },
      });
      const waiting = await waitForState(handle, waitingOn('VERIFY'), 30_000);
      const v = waiting.phases.VERIFY;
      assert.deepEqual([...(v['failed_health'] as string[])].sort(), [
        'omninode-contract-resolver',
        'omninode-runtime',
      ]);
      const failedVersions = v['failed_versions'] as string[];
      assert.equal(failedVersions.length, 3, failedVersions.join('; '));
      assert.match(failedVersions.join('\n'), /omniintelligence: expected 0\.6\.0, got 0\.8\.0/);
      assert.match(failedVersions.join('\n'), /omninode-ghost: not installed in omninode-runtime/);
      // The worktree pins a range there: the message names the range and the release it resolved to (issue 19).
      assert.match(
        failedVersions.join('\n'),
        /omninode-claude: `>=0\.3\.0,<0\.5\.0` resolved to 0\.4\.0, not the requested 9\.9\.9/,
      );
      assert.equal((await h.sb.invocations('docker')) >= 1, true);
      for (const p of [
        'SYNC',
        'ENV_CHECK',
        'WORKTREE',
        'PIN_UPDATE',
        'DEPLOY',
        'INFISICAL',
        'NOTIFY',
      ] as const) {
        assert.equal(waiting.phases[p].status, 'skipped_by_flag');
      }
      await handle.terminate('test done');
    } finally {
      h.sb.health.setUp('omninode-runtime');
      h.sb.health.setUp('omninode-contract-resolver');
    }
  });

  it('VERIFY passes when an endpoint turns healthy a few seconds after the restart', async () => {
    const deployed = await h.sb.deployedPins();
    const handle = await h.start({
      flags: { ...FLAGS, verifyOnly: true },
      versions: {
        'omninode-claude': deployed['omninode-claude'] ?? '',
        omniintelligence: deployed['omniintelligence'] ?? '',
      },
    });
    h.sb.health.setUpAfter('intelligence-api', 3000);
    const state = await handle.result();
    assert.equal(state.phases.VERIFY.status, 'completed');
    const health = state.phases.VERIFY['health'] as Record<string, { status: string; after_ms: number }>;
    assert.equal(health['intelligence-api']?.status, 'healthy');
    assert.ok(
      (health['intelligence-api']?.after_ms ?? 0) >= 2000,
      `became healthy after ${health['intelligence-api']?.after_ms} ms`,
    );
  });

  it('NOTIFY posts through an incoming webhook when there is no bot token', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_WEBHOOK_URL: h.sb.slack.webhookUrl,
    });
    try {
      const before = h.sb.slack.requests.length;
      const handle = await h.start({
        resumeFrom: {
          phases: ALL_BUT_NOTIFY,
          worktreePath: null,
        },
      });
      const state = await handle.result();
      const posts = h.sb.slack.requests.slice(before);
      assert.deepEqual(
        posts.map((p) => p.kind),
        ['webhook'],
      );
      assert.match(
        JSON.stringify(posts[0]?.body),
        new RegExp(`\\[redeploy\\] ${handle.workflowId} complete`),
      );
      assert.equal(state.phases.NOTIFY['channel'], 'slack-webhook');
      assert.equal(
        await activityRuns(h, handle.workflowId, 'DEPLOY'),
        0,
        'settled phases of a resumed run do not run again',
      );
    } finally {
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('NOTIFY prints the seed summary (stdout mode) below FULL_ONEX', async () => {
    const before = h.sb.slack.requests.length;
    const handle = await h.start({
      resumeFrom: {
        phases: ALL_BUT_NOTIFY,
        worktreePath: null,
      },
    });
    const state = await handle.result();
    assert.equal(h.sb.slack.requests.length, before, 'nothing posted');
    // KAFKA_BOOTSTRAP_SERVERS is set and omniclaude does not import: EVENT_BUS.
    assert.equal(state.phases.NOTIFY['tier'], 'EVENT_BUS');
    assert.equal(state.phases.NOTIFY['channel'], 'stdout');
    assert.equal(
      state.phases.NOTIFY['message'],
      `[redeploy] ${handle.workflowId} complete\n  Pins: omninode-claude==0.4.0, omniintelligence==0.8.0\n  Phases: all completed`,
    );
  });

  it('NOTIFY does not retry a Slack 4xx, and retries a 429 after Retry-After', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    try {
      const settled = {
        phases: ALL_BUT_NOTIFY,
        worktreePath: null,
      };
      h.sb.slack.failNext(1, {
        status: 429,
        headers: { 'retry-after': '1' },
        body: { ok: false, error: 'ratelimited' },
      });
      const ok = await (await h.start({ resumeFrom: settled })).result();
      assert.equal(ok.phases.NOTIFY.status, 'completed');

      h.sb.slack.failNext(1, { status: 200, body: { ok: false, error: 'channel_not_found' } });
      const handle = await h.start({ resumeFrom: settled });
      const waiting = await waitForState(handle, waitingOn('NOTIFY'));
      assert.match(String(waiting.phases.NOTIFY['error']), /channel_not_found/);
      assert.equal(await activityRuns(h, handle.workflowId, 'NOTIFY'), 1);
      await handle.terminate('test done');
    } finally {
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('PIN_UPDATE script mode runs update-plugin-pins.py with --versions and parses its JSON', async () => {
    const hs = await createHarness('pin-script', { vars: { REDEPLOY_PIN_MODE: 'script' } });
    try {
      const handle = await hs.start({ flags: FLAGS });
      const state = await handle.result();
      assert.equal(state.phases.PIN_UPDATE['mode'], 'script');
      assert.deepEqual(state.phases.PIN_UPDATE['pins_applied'], {
        'omninode-claude': { from: '>=0.3.0,<0.5.0', to: '0.4.0', matched: true },
        omniintelligence: { from: '0.6.0', to: '0.8.0', matched: true },
      });
      const [args] = await hs.sb.invocationArgs('update-plugin-pins');
      assert.ok(
        args?.includes('--versions') && args.includes('omninode-claude=0.4.0,omniintelligence=0.8.0'),
        args?.join(' '),
      );
    } finally {
      await hs.close();
    }
  });
});
