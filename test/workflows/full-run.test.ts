import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { legacyStateSchema } from '../../src/core/schemas.js';
import { PHASES } from '../../src/core/phases.js';
import { REDEPLOY_PHASE } from '../../src/workflows/messages.js';
import type { RedeployState } from '../../src/core/state.js';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { activityRuns, recordHistory, VERSIONS } from '../support/harness.js';
import { withHarness } from '../support/suite.js';
import { statuses, statusesOf } from '../support/phases.js';

describe('a full redeploy on a real Temporal server', { concurrency: 1 }, () => {
  const h = withHarness('full-run');
  let state: RedeployState;
  let runId: string;

  before(async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    const handle = await h.start();
    runId = handle.workflowId;
    state = await handle.result();
    await recordHistory(h, runId, 'full-run');
  });

  it('ends all eight phases as expected', () => {
    assert.equal(state.status, 'completed');
    assert.deepEqual(statusesOf(state.phases), statuses('completed', { INFISICAL: 'skipped_no_infisical' }));
    for (const p of PHASES) assert.equal(typeof state.phases[p].ts, 'string', `${p} has a timestamp`);
  });

  it('keeps a state that validates as the legacy state file', () => {
    const parsed = legacyStateSchema.safeParse(JSON.parse(JSON.stringify(state)));
    assert.ok(parsed.success, JSON.stringify(parsed.error?.issues));
    assert.equal(state.run_id, runId);
    assert.equal(state.worktree_ticket, runId);
    assert.equal(state.worktree_ref, 'main');
    assert.equal(state.worktree_path, path.join(h.sb.worktreeRoot, runId, 'omnibase_infra'));
    assert.deepEqual(state.versions_requested, VERSIONS);
    assert.deepEqual(state.pins_applied, VERSIONS);
  });

  it('leaves the requested pins in the worktree Dockerfile and deploys them', async () => {
    const dockerfile = await fs.readFile(
      path.join(state.worktree_path ?? '', 'docker/Dockerfile.runtime'),
      'utf8',
    );
    assert.match(dockerfile, /^\s+"omninode-claude==0\.4\.0" \\$/m);
    assert.match(dockerfile, /^\s+omniintelligence==0\.8\.0 \\$/m);
    assert.match(dockerfile, /# omniintelligence==0\.1\.0 \(old pin, keep\)/);
    const deployed = await h.sb.deployedPins();
    assert.equal(deployed['omninode-claude'], '0.4.0');
    assert.equal(deployed['omniintelligence'], '0.8.0');
    assert.deepEqual(state.phases.PIN_UPDATE['pins_applied'], {
      // `from_raw`: the specifier's original bytes, which a rollback writes back.
      'omninode-claude': {
        from: '>=0.3.0,<0.5.0',
        from_raw: '>=0.3.0,<0.5.0',
        from_raw_hits: ['>=0.3.0,<0.5.0'],
        to: '0.4.0',
        matched: true,
      },
      omniintelligence: {
        from: '0.6.0',
        from_raw: '==0.6.0',
        from_raw_hits: ['==0.6.0'],
        to: '0.8.0',
        matched: true,
      },
    });
  });

  it('ran every script once, and verified with one docker exec for all packages', async () => {
    assert.equal(await h.sb.invocations('pull-all'), 1);
    assert.equal(await h.sb.invocations('deploy'), 1);
    const [dockerArgs] = await h.sb.invocationArgs('docker');
    assert.deepEqual(dockerArgs, [
      'exec',
      'omninode-runtime',
      'uv',
      'pip',
      'show',
      'omninode-claude',
      'omniintelligence',
    ]);
    for (const p of PHASES.filter((p) => p !== 'INFISICAL'))
      assert.equal(await activityRuns(h, runId, p), 1, p);
  });

  it('posts the seed message to Slack with the bot token', () => {
    const posts = h.sb.slack.requests.filter((r) => r.kind === 'chat.postMessage');
    assert.equal(posts.length, 1);
    const body = posts[0]?.body as { channel: string; text: string };
    assert.equal(body.channel, h.sb.slack.channel);
    assert.equal(body.text.split('\n')[0], `[redeploy] ${runId} complete`);
    assert.match(body.text, /Pins: omninode-claude==0\.4\.0, omniintelligence==0\.8\.0/);
    assert.deepEqual(
      { tier: state.phases.NOTIFY['tier'], channel: state.phases.NOTIFY['channel'] },
      { tier: 'FULL_ONEX', channel: 'slack-bot' },
    );
  });

  it('shows summaries, current details and the RedeployPhase search attribute to the Web UI', async () => {
    const handle = h.client.workflow.getHandle(runId);
    const history = await handle.fetchHistory();
    const summaries: string[] = [];
    const converter = (await import('@temporalio/common')).defaultPayloadConverter;
    for (const e of history.events ?? []) {
      const payload = e.userMetadata?.summary;
      if (e.activityTaskScheduledEventAttributes && payload) summaries.push(converter.fromPayload(payload));
    }
    assert.ok(
      summaries.includes('PIN_UPDATE omninode-claude >=0.3.0,<0.5.0 → 0.4.0, omniintelligence 0.6.0 → 0.8.0'),
      summaries.join('\n'),
    );
    assert.ok(summaries.some((s) => s.startsWith('DEPLOY deploy-runtime.sh')));
    const meta = await handle.query<{ currentDetails: string }>('__temporal_workflow_metadata');
    assert.match(meta.currentDetails, /\| ✔ DEPLOY \| completed \|/);
    const description = await handle.describe();
    assert.equal(description.typedSearchAttributes.get(REDEPLOY_PHASE), 'COMPLETED');
  });

  it('writes a masked log per phase and never the secret', async () => {
    const dir = path.join(h.config.logDir, runId);
    const files = (await fs.readdir(dir)).filter((f) => f.endsWith('.log')).sort();
    assert.deepEqual(files, [
      'DEPLOY.log',
      'ENV_CHECK.log',
      'INFISICAL.log',
      'NOTIFY.log',
      'PIN_UPDATE.log',
      'SYNC.log',
      'VERIFY.log',
      'WORKTREE.log',
    ]);
    const envCheck = await fs.readFile(path.join(dir, 'ENV_CHECK.log'), 'utf8');
    assert.match(
      envCheck,
      /ENV_CHECK: POSTGRES_PASSWORD OK\nENV_CHECK: KAFKA_BOOTSTRAP_SERVERS OK\nENV_CHECK: completed/,
    );
    for (const f of files) {
      assert.ok(
        !(await fs.readFile(path.join(dir, f), 'utf8')).includes(DEFAULT_ENV['POSTGRES_PASSWORD'] as string),
        f,
      );
    }
  });
});
