import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpdate, REDEPLOY_PHASE } from '../../src/workflows/messages.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { WorkflowFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import type { RedeployFlags } from '../../src/core/state.js';
import { DEFAULT_ENV, type SlackRequest } from '../support/sandbox.js';
import { groupAlive } from '../../src/io/exec.js';
import {
  activityRuns,
  progress,
  recordHistory,
  sleepingGroup,
  spawnWorkerProcess,
  waitForState,
  waitingOn,
  type Harness,
} from '../support/harness.js';
import { withHarness } from '../support/suite.js';

/** Straight to the worktree and DEPLOY: what these tests are about happens there or later. */
const FAST: RedeployFlags = {
  skipSync: true,
  skipDockerfileUpdate: false,
  skipInfisical: true,
  verifyOnly: false,
};

async function failureOf(handle: WorkflowHandle): Promise<ApplicationFailure> {
  const err = await handle.result().then(
    () => assert.fail(`${handle.workflowId} was expected to fail`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure, String(err));
  return err.cause;
}

/** Slack posts whose text includes `needle`, waited for (the message is sent after the state is published). */
async function postsWith(h: Harness, needle: string, count = 1): Promise<SlackRequest[]> {
  for (let i = 0; i < 200; i++) {
    const hits = h.sb.slack.requests.filter((r) => String(r.body?.text ?? '').includes(needle));
    if (hits.length >= count) return hits;
    await sleep(100);
  }
  assert.fail(
    `no Slack post with "${needle}"; posts: ${h.sb.slack.requests.map((r) => r.body?.text).join(' | ')}`,
  );
}

describe('one redeploy per target', { concurrency: 1 }, () => {
  const h = withHarness('target-lock');

  it('a second run waits, naming the holder; --no-wait refuses; verify-only is not held up; abort frees it', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'build failed' });
    const first = await h.start({ flags: FAST });
    await waitForState(first, waitingOn('DEPLOY'));

    const second = await h.start({ flags: FAST });
    const waiting = await waitForState(
      second,
      (s) => s.status === 'waiting_for_target' && s.waiting_for !== null,
    );
    assert.equal(waiting.waiting_for?.run_id, first.workflowId);
    assert.equal(waiting.waiting_for?.started_by, 'test@sandbox');
    assert.ok(!Number.isNaN(Date.parse(waiting.waiting_for?.started_at ?? '')), 'started_at is a time');
    assert.equal(waiting.phases.ENV_CHECK.status, 'pending', 'nothing runs while waiting');
    const attrs = (await second.describe()).typedSearchAttributes;
    assert.equal(attrs.get(REDEPLOY_PHASE), 'WAITING_FOR_TARGET', 'queued runs can be listed');

    const refused = await h.start({ flags: { ...FAST, noWait: true } });
    const busy = await failureOf(refused);
    assert.equal(busy.type, 'TargetBusy');
    assert.match(busy.message, new RegExp(`${first.workflowId} \\(started by test@sandbox at .+\\)`));
    assert.match(busy.message, new RegExp(`redeploy cancel ${first.workflowId}`));
    const refusedState = await progress(refused);
    assert.equal(refusedState.phases.WORKTREE.status, 'pending', 'a refused run touches nothing');

    // Waiting is bounded: past the timeout the run fails, naming the holder, with a failure message.
    const gaveUp = await h.start({ flags: FAST, targetWaitTimeoutMs: 3000 });
    const timeout = await failureOf(gaveUp);
    assert.equal(timeout.type, 'TargetWaitTimeout');
    assert.match(timeout.message, new RegExp(`waiting for ${first.workflowId} \\(started by test@sandbox`));
    assert.match(
      await fs.readFile(path.join(h.config.logDir, gaveUp.workflowId, 'ALERTS.log'), 'utf8'),
      new RegExp(`${gaveUp.workflowId} failed: its target stayed busy`),
    );

    // VERIFY only reads: it runs while the target is held.
    const verifyOnly = await h.start({ flags: { ...FAST, verifyOnly: true } });
    const verified = await waitForState(
      verifyOnly,
      (s) => s.phases.VERIFY.status !== 'pending' && s.phases.VERIFY.status !== 'running',
    );
    assert.equal(verified.waiting_for, null);
    if (verified.status === 'waiting_for_decision')
      await verifyOnly.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase: 'VERIFY' }] });

    await h.sb.clearFault('deploy');
    await first.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase: 'DEPLOY', by: 'alice' }] });
    await failureOf(first);
    const done = await second.result();
    assert.equal(done.status, 'completed');
    assert.equal(done.waiting_for, null);
    await recordHistory(h, second.workflowId, 'target-wait');
  });

  for (const how of ['terminate', 'cancel'] as const) {
    it(`a holder that is ${how === 'terminate' ? 'terminated' : 'cancelled'} frees the target`, async () => {
      await h.sb.setFault('deploy', { sleepSeconds: 120 });
      const holder = await h.start({ flags: FAST });
      await waitForState(holder, (s) => s.phases.DEPLOY.status === 'running');
      const waiter = await h.start({ flags: FAST });
      await waitForState(waiter, (s) => s.waiting_for?.run_id === holder.workflowId);
      const pgid = await sleepingGroup(h.config.logDir, holder.workflowId, 'DEPLOY'); // the holder is deploying
      await h.sb.clearFault('deploy');
      // Terminate: the workflow code never runs again, so only the server can release the target.
      if (how === 'terminate') await holder.terminate('test: holder terminated');
      else await holder.cancel();
      if (how === 'cancel') {
        // The deploy's group outlives the cancel request by seconds (INT, then TERM after 5 s): the
        // target must stay held until it is gone.
        while ((await progress(waiter)).status === 'waiting_for_target') await sleep(50);
        assert.equal(
          groupAlive(pgid),
          false,
          "the waiter started while the cancelled run's deploy was alive",
        );
      }
      const done = await waiter.result();
      assert.equal(done.status, 'completed');
      assert.equal((await holder.describe()).status.name, how === 'terminate' ? 'TERMINATED' : 'CANCELLED');
    });
  }
});

describe('failure notifications and rollback', { concurrency: 1 }, () => {
  const h = withHarness('notifications');
  const secrets = {
    POSTGRES_PASSWORD: 'pg-Hardening-Secret-5e4d3c',
    REDIS_DSN: 'redis://:dsn-hardening-secret@127.0.0.1:6379/0',
  };

  it('a final failure, an abort and a decision timeout each post one message; no secret in any payload', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ...secrets,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    await h.sb.setFault('deploy', {
      exitCode: 1,
      message: 'docker compose build: FAILED',
      printEnv: [...Object.keys(secrets), 'SLACK_BOT_TOKEN'],
    });
    const posted = h.sb.slack.requests.length;
    try {
      const first = await h.start({ flags: FAST });
      const runId = first.workflowId;
      await waitForState(first, waitingOn('DEPLOY'));
      const [failed] = await postsWith(h, `${runId} DEPLOY failed — waiting for a decision`);
      const text = String(failed?.body.text);
      assert.match(text, /Phase: DEPLOY/);
      assert.match(text, /docker compose build: FAILED/, 'the error tail');
      assert.ok(
        text.includes(`Web UI: ${h.config.temporal.uiUrl}/namespaces/default/workflows/${runId}`),
        text,
      );
      assert.ok(
        text.includes(
          `Resume: redeploy --resume ${runId} --versions "omninode-claude=0.4.0,omniintelligence=0.8.0" --skip-sync --skip-infisical`,
        ),
        text,
      );
      await first.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase: 'DEPLOY', by: 'carol' }] });
      await failureOf(first);
      const [aborted] = await postsWith(h, `${runId} aborted at DEPLOY`);
      await recordHistory(h, runId, 'failure-notify-abort');
      assert.match(String(aborted?.body.text), /aborted by carol/);

      const second = await h.start({ flags: FAST, decisionTimeoutMs: 1500 });
      assert.equal((await failureOf(second)).type, 'DecisionTimeout');
      await postsWith(h, `${second.workflowId} failed: no decision on DEPLOY in time`);

      const posts = h.sb.slack.requests.slice(posted);
      // One message per event: failure, abort (first run); failure, timeout (second run).
      assert.equal(posts.length, 4, posts.map((p) => p.body?.text).join('\n---\n'));
      const haystacks = [
        ...posts.map((p) => JSON.stringify(p.body)),
        JSON.stringify(await first.fetchHistory()),
        JSON.stringify(await second.fetchHistory()),
        await fs.readFile(path.join(h.config.logDir, runId, 'ALERTS.log'), 'utf8'),
      ];
      for (const text of haystacks) {
        for (const [name, value] of Object.entries({ ...secrets, SLACK_BOT_TOKEN: h.sb.slack.token }))
          assert.ok(!text.includes(value), `${name} leaked: ${text.slice(0, 300)}`);
      }
      // The message quotes the explaining line (`FAILED`), not the lines that printed secrets: those are
      // in the phase log, masked — proof that the masking ran rather than that the lines were left out.
      const log = await fs.readFile(path.join(h.config.logDir, runId, 'DEPLOY.log'), 'utf8');
      assert.match(log, /POSTGRES_PASSWORD=\*\*\*/);
      assert.match(log, /SLACK_BOT_TOKEN=\*\*\*/);
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('--rollback-on-failure: VERIFY fails after DEPLOY → the previous pins are restored, deployed and verified', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_WEBHOOK_URL: h.sb.slack.webhookUrl,
    });
    h.sb.health.setDown('intelligence-api');
    try {
      const handle = await h.start({ flags: { ...FAST, rollbackOnFailure: true } });
      const runId = handle.workflowId;
      await waitForState(handle, (s) => s.rollback?.status === 'running', 90_000);
      h.sb.health.setUp('intelligence-api'); // the previous version comes up healthy
      const failure = await failureOf(handle);
      assert.equal(failure.type, 'RolledBack');
      await recordHistory(h, runId, 'rollback');
      const s = await progress(handle);
      assert.equal(s.status, 'rolled_back');
      assert.deepEqual(s.rollback?.to, { 'omninode-claude': '>=0.3.0,<0.5.0', omniintelligence: '0.6.0' });
      assert.equal(s.rollback?.status, 'completed');
      assert.deepEqual(
        [s.phases.PIN_UPDATE.status, s.phases.DEPLOY.status, s.phases.VERIFY.status, s.phases.NOTIFY.status],
        ['rolled_back', 'rolled_back', 'failed', 'pending'],
      );
      assert.match(
        s.error ?? '',
        /rolled back to omninode-claude>=0\.3\.0,<0\.5\.0, omniintelligence==0\.6\.0/,
      );
      // The Dockerfile is byte for byte what the worktree started with.
      const diff = await execa(
        'git',
        ['-C', s.worktree_path ?? '', 'diff', '--exit-code', '--', 'docker/Dockerfile.runtime'],
        {
          reject: false,
        },
      );
      assert.equal(diff.exitCode, 0, diff.stdout);
      const deployed = JSON.parse(await fs.readFile(h.sb.deployedFile, 'utf8')) as Record<string, string>;
      assert.equal(deployed['omniintelligence'], '0.6.0', 'the previous version is what runs');
      const deploys = await h.sb.invocationArgs('deploy');
      assert.ok(deploys.at(-1)?.includes('--force'), 'the rollback deploy overwrites the deployment');
      await postsWith(
        h,
        `${runId} VERIFY failed — rolled back to omninode-claude>=0.3.0,<0.5.0, omniintelligence==0.6.0`,
      );
    } finally {
      h.sb.health.setUp('intelligence-api');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });

  it('a run cancelled during its rollback says so: the rollback failed, cancelled', async () => {
    h.sb.health.setDown('intelligence-api');
    try {
      const handle = await h.start({ flags: { ...FAST, rollbackOnFailure: true } });
      await waitForState(handle, (s) => s.phases.VERIFY.status === 'running', 60_000);
      await h.sb.setFault('deploy', { sleepSeconds: 120 }); // the rollback's redeploy hangs
      const deploys = await h.sb.invocations('deploy');
      await waitForState(handle, (s) => s.rollback?.status === 'running', 60_000);
      while ((await h.sb.invocations('deploy')) === deploys) await sleep(100); // it is redeploying
      await handle.cancel();
      await handle.result().catch(() => undefined);
      const s = await progress(handle);
      assert.equal(s.status, 'cancelled');
      assert.deepEqual([s.rollback?.status, s.rollback?.error], ['failed', 'cancelled']);
      assert.ok(s.rollback?.finished_at, 'the rollback record is closed');
    } finally {
      await h.sb.clearFault('deploy');
      h.sb.health.setUp('intelligence-api');
    }
  });

  it('a rollback that fails itself ends the run failed, naming the step', async () => {
    h.sb.health.setDown('intelligence-api');
    try {
      const handle = await h.start({ flags: { ...FAST, rollbackOnFailure: true } });
      assert.equal((await failureOf(handle)).type, 'RollbackFailed');
      const s = await progress(handle);
      assert.equal(s.status, 'failed');
      assert.equal(s.rollback?.status, 'failed');
      assert.match(s.rollback?.error ?? '', /^VERIFY: /);
      assert.match(s.error ?? '', /rollback failed at VERIFY/);
      // Both undone phases run again on --resume (rolled_back is not a settled status).
      assert.deepEqual([s.phases.PIN_UPDATE.status, s.phases.DEPLOY.status], ['rolled_back', 'rolled_back']);
    } finally {
      h.sb.health.setUp('intelligence-api');
    }
  });
});

describe('NOTIFY under a worker crash', { concurrency: 1 }, () => {
  const h = withHarness('notify-crash', { worker: false });

  it('a worker killed while its Slack post is in flight: the retry finds the post and does not repeat it', async () => {
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    h.sb.slack.delayNext(1, 60_000); // delivered at once, answered never (within the worker's life)
    const first = spawnWorkerProcess(h.vars);
    const handle = await h.start({ flags: FAST });
    const runId = handle.workflowId;
    const title = `[redeploy] ${runId} complete`;
    const delivered = () => h.sb.slack.delivered.filter((m) => m.text.startsWith(title)).length;
    try {
      while (delivered() === 0) {
        assert.equal(first.exitCode, null, `the worker exited early: ${first.exitCode}`);
        await sleep(100);
      }
      assert.equal(
        (await progress(handle)).phases.NOTIFY.status,
        'running',
        'killed while NOTIFY was in flight',
      );
      first.kill('SIGKILL');
      await first;
    } finally {
      first.kill('SIGKILL');
    }
    const second = spawnWorkerProcess(h.vars);
    try {
      const state = await handle.result();
      assert.equal(state.status, 'completed');
      assert.equal(await activityRuns(h, runId, 'NOTIFY'), 2, 'NOTIFY ran again on the new worker');
      assert.equal(delivered(), 1, 'one message for the run outcome');
      assert.equal(state.phases.NOTIFY['duplicate_suppressed'], true);
      assert.match(
        await fs.readFile(path.join(h.config.logDir, runId, 'NOTIFY.log'), 'utf8'),
        /an earlier attempt's post was delivered/,
      );
    } finally {
      second.kill('SIGTERM');
      await second;
    }
  });
});
