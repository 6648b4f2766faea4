import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideSignal, decideUpdate, type DecisionPayload } from '../../src/workflows/messages.js';
import { WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter } from '@temporalio/common';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { activityRuns, progress, recordHistory, waitForState, waitingOn } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

describe('operator decisions on a failed phase', { concurrency: 1 }, () => {
  const h = withHarness('decisions');

  /** The run's target lock completed while the run was open: its history (and Web UI) says so, not "Started". */
  async function lockCompleted(runId: string) {
    const events = (await h.client.workflow.getHandle(runId).fetchHistory()).events ?? [];
    const started = events.filter((e) => e.childWorkflowExecutionStartedEventAttributes);
    const completed = events.filter((e) => e.childWorkflowExecutionCompletedEventAttributes);
    assert.equal(started.length, 1, 'one target lock');
    assert.equal(completed.length, 1, "the lock completed in the run's history");
    const lockId =
      started[0]?.childWorkflowExecutionStartedEventAttributes?.workflowExecution?.workflowId ?? '';
    const lock = await h.client.workflow.getHandle(lockId).describe();
    assert.equal(lock.status.name, 'COMPLETED');
  }

  it('retry re-runs only the failed phase: DEPLOY twice (second with --force), earlier phases once', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'docker compose build: FAILED (simulated)' });
    const handle = await h.start();
    const runId = handle.workflowId;
    const waiting = await waitForState(handle, waitingOn('DEPLOY'));
    assert.equal(waiting.phases.DEPLOY.status, 'failed');
    assert.match(String(waiting.phases.DEPLOY['error']), /deploy-runtime\.sh failed \(exit 1\)/);
    assert.equal(waiting.phases.DEPLOY['error_type'], 'DeployFailed');
    assert.ok(
      (waiting.phases.DEPLOY['log_tail'] as string[]).some((l) =>
        l.includes('docker compose build: FAILED (simulated)'),
      ),
    );
    assert.equal(await h.sb.invocations('deploy'), 1, 'a failed build is not retried automatically');

    await h.sb.clearFault('deploy');
    const ack = await handle.executeUpdate(decideUpdate, {
      args: [{ action: 'retry', phase: 'DEPLOY', by: 'alice@host' }],
    });
    // `since`: the wait answered (a follower tells it from a later one).
    assert.ok(waiting.pending_decision?.since);
    assert.deepEqual(ack, {
      accepted: true,
      phase: 'DEPLOY',
      action: 'retry',
      since: waiting.pending_decision.since,
    });
    const state = await handle.result();
    await recordHistory(h, runId, 'deploy-retry');
    assert.equal(state.status, 'completed');
    const deployArgs = await h.sb.invocationArgs('deploy');
    assert.equal(deployArgs.length, 2);
    assert.ok(deployArgs[1]?.includes('--force'), `second deploy args: ${deployArgs[1]?.join(' ')}`);
    assert.equal(await h.sb.invocations('pull-all'), 1);
    for (const phase of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const) {
      assert.equal(await activityRuns(h, runId, phase), 1, `${phase} ran once`);
    }
    assert.equal(await activityRuns(h, runId, 'DEPLOY'), 2);
    assert.deepEqual(
      state.decisions.map((d) => [d.phase, d.action, d.by]),
      [['DEPLOY', 'retry', 'alice@host']],
    );
    // The operator's retry is DEPLOY's second attempt in its log, not "attempt 1" again.
    const headers = (await fs.readFile(path.join(h.config.logDir, runId, 'DEPLOY.log'), 'utf8'))
      .split('\n')
      .filter((l) => l.startsWith('[redeploy] DEPLOY attempt'));
    assert.equal(headers.length, 2, headers.join('\n'));
    assert.match(headers[0] ?? '', /^\[redeploy\] DEPLOY attempt 1 started \S+$/);
    assert.match(
      headers[1] ?? '',
      /^\[redeploy\] DEPLOY attempt 2 started \S+ \(scheduled again: an operator retry, a --resume or a rollback; 1 earlier above\)$/,
    );
    // The alert that went out while it waited: labelled as what it says, and honest that nothing was deployed.
    const history = await handle.fetchHistory();
    const alerts = (history.events ?? [])
      .filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'notifyFailure')
      .map((e) =>
        e.userMetadata?.summary ? defaultPayloadConverter.fromPayload(e.userMetadata.summary) : '',
      );
    assert.deepEqual(alerts, ['failure alert: DEPLOY failed — waiting for a decision']);
    const alert = await fs.readFile(path.join(h.config.logDir, runId, 'ALERTS.log'), 'utf8');
    assert.match(
      alert,
      /^ {2}Deployed: nothing \(DEPLOY did not complete\) · worktree at origin\/main @ [0-9a-f]{12}/m,
    );
    assert.ok(!/Deployed: origin/.test(alert), alert);
    await lockCompleted(runId);
  });

  it('skip marks the phase skipped_by_operator and goes on', async () => {
    h.sb.health.setDown('intelligence-api');
    try {
      const handle = await h.start({
        flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: true, verifyOnly: false },
      });
      const waiting = await waitForState(handle, waitingOn('VERIFY'));
      assert.deepEqual(waiting.phases.VERIFY['failed_health'], ['intelligence-api']);
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'skip', phase: 'VERIFY', by: 'bob' }] });
      const state = await handle.result();
      assert.equal(state.status, 'completed');
      assert.equal(state.phases.VERIFY.status, 'skipped_by_operator');
      assert.equal(state.phases.NOTIFY.status, 'completed');
      assert.equal(state.phases.SYNC.status, 'skipped_by_flag');
      assert.equal(state.phases.INFISICAL.status, 'skipped_by_flag');
    } finally {
      h.sb.health.setUp('intelligence-api');
    }
  });

  it('abort fails the run with the phase error and runs nothing after it', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'build broke' });
    try {
      const handle = await h.start();
      await waitForState(handle, waitingOn('DEPLOY'));
      await handle.executeUpdate(decideUpdate, {
        args: [{ action: 'abort', phase: 'DEPLOY', by: 'carol', reason: 'bad release' }],
      });
      const err = await handle.result().then(
        () => assert.fail('an aborted run must not succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError);
      assert.ok(err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'RedeployAborted');
      assert.match(err.cause.message, /aborted by carol at DEPLOY: deploy-runtime\.sh failed \(exit 1\)/);
      const state = await progress(handle);
      assert.equal(state.status, 'aborted');
      await lockCompleted(handle.workflowId);
      assert.equal(state.phases.INFISICAL.status, 'pending');
      assert.equal(state.phases.NOTIFY.status, 'pending');
      assert.deepEqual(state.decisions[0], {
        ...state.decisions[0],
        phase: 'DEPLOY',
        action: 'abort',
        by: 'carol',
        reason: 'bad release',
      });
    } finally {
      await h.sb.clearFault('deploy');
    }
  });

  it('accepts the same decision as a signal, and the update validator refuses a wrong phase', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'flaky' });
    const handle = await h.start({
      flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: true, verifyOnly: false },
    });
    await waitForState(handle, waitingOn('DEPLOY'));
    await assert.rejects(
      handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase: 'VERIFY' }] }),
      (e: unknown) =>
        e instanceof WorkflowUpdateFailedError &&
        /DEPLOY is waiting, not VERIFY/.test(String(e.cause?.message)),
    );
    await assert.rejects(
      // Deliberately outside the payload's type: the validator must refuse what a raw client can send.
      handle.executeUpdate(decideUpdate, {
        args: [{ action: 'explode', phase: 'DEPLOY' } as unknown as DecisionPayload],
      }),
      (e: unknown) =>
        e instanceof WorkflowUpdateFailedError &&
        /action must be retry, skip or abort/.test(String(e.cause?.message)),
    );
    // A wrong signal is ignored (logged), the run keeps waiting.
    await handle.signal(decideSignal, { action: 'retry', phase: 'SYNC' });
    await h.sb.clearFault('deploy');
    assert.equal((await progress(handle)).status, 'waiting_for_decision');
    await handle.signal(decideSignal, { action: 'retry', phase: 'DEPLOY', by: 'web-ui' });
    const state = await handle.result();
    assert.equal(state.status, 'completed');
    assert.equal(state.decisions.at(-1)?.by, 'web-ui');
    await assert.rejects(
      handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase: 'DEPLOY' }] }),
      'a closed run takes no decision',
    );
  });

  it('fails the run with the phase error when no decision comes in time', async () => {
    await h.sb.writeEnvFile({ KAFKA_BOOTSTRAP_SERVERS: 'k:1' });
    try {
      const handle = await h.start({ decisionTimeoutMs: 1500 });
      const err = await handle.result().then(
        () => assert.fail('must fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure);
      assert.equal(err.cause.type, 'DecisionTimeout');
      assert.match(
        err.cause.message,
        /ENV_CHECK failed and no decision came before .*: POSTGRES_PASSWORD not set/,
      );
      assert.equal((await progress(handle)).status, 'failed');
    } finally {
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });
});
