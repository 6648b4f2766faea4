import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpdate } from '../../src/workflows/messages.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { WorkflowFailedError } from '@temporalio/client';
import { CancelledFailure } from '@temporalio/common';
import { isActive } from '../../src/core/state.js';
import { groupAlive } from '../../src/io/exec.js';
import { buildReport } from '../../src/cli/report.js';
import { DEFAULT_ENV, INFISICAL_TEST_ENV } from '../support/sandbox.js';
import {
  activityRuns,
  progress,
  sleepingGroup,
  spawnWorkerProcess,
  VERSIONS,
  waitForState,
  waitingOn,
} from '../support/harness.js';
import { temporalCli } from '../support/temporal.js';
import { withHarness } from '../support/suite.js';
import { HELD_FETCH, slowInfraOrigin } from '../support/slow-origin.js';

describe('durability', { concurrency: 1 }, () => {
  const h = withHarness('durability', { worker: false });

  it('a worker SIGKILLed during DEPLOY is replaced and the run completes; earlier phases ran once', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 120 }); // a long build: still running when the re-attempt comes
    const first = spawnWorkerProcess(h.vars);
    const handle = await h.start();
    const runId = handle.workflowId;
    await waitForState(handle, (s) => s.phases.DEPLOY.status === 'running', 60_000);
    // Kill once the build is under way and silent (its `sleep` child exists): an orphan that still
    // prints dies of SIGPIPE by itself, a silent one is what the re-attempt must stop.
    const orphan = await sleepingGroup(h.config.logDir, runId, 'DEPLOY');
    first.kill('SIGKILL');
    await first;
    assert.ok(groupAlive(orphan), 'the killed worker left its deploy running (as a real crash would)');
    await h.sb.clearFault('deploy');

    const second = spawnWorkerProcess(h.vars);
    try {
      const state = await handle.result();
      assert.equal(state.status, 'completed');
      for (const phase of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const) {
        assert.equal(await activityRuns(h, runId, phase), 1, `${phase} ran once`);
      }
      const deploys = await h.sb.invocationArgs('deploy');
      assert.equal(deploys.length, 2);
      assert.ok(deploys[1]?.includes('--force'), 'the re-attempt passes --force');
      assert.equal(groupAlive(orphan), false, 'the orphaned deploy was stopped before the re-attempt');
      // The report counts the automatic retry: one execution, two attempts (from the history).
      const report = buildReport(state, (await handle.fetchHistory()).events ?? []);
      assert.deepEqual([report.phases.DEPLOY.executions, report.phases.DEPLOY.attempts], [1, 2]);
      assert.match(
        await fs.readFile(path.join(h.config.logDir, runId, 'DEPLOY.log'), 'utf8'),
        /stopping process group \d+ left by an earlier attempt/,
      );
    } finally {
      second.kill('SIGTERM');
      await second;
    }
  });

  it('cancel during DEPLOY stops the whole process group and marks the run cancelled', async () => {
    await h.startWorker();
    try {
      await h.sb.setFault('deploy', { sleepSeconds: 120 });
      const handle = await h.start({
        flags: { skipSync: true, skipDockerfileUpdate: true, skipInfisical: true, verifyOnly: false },
      });
      await waitForState(handle, (s) => s.phases.DEPLOY.status === 'running');
      const pgid = await sleepingGroup(h.config.logDir, handle.workflowId, 'DEPLOY');
      await handle.cancel();
      const err = await handle.result().then(
        () => assert.fail('a cancelled run does not succeed'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof WorkflowFailedError && err.cause instanceof CancelledFailure, String(err));
      await sleep(5000);
      assert.equal(groupAlive(pgid), false, 'no process of the deploy group is alive 5 s later');
      const state = await progress(handle);
      assert.equal(state.status, 'cancelled');
      assert.equal(state.phases.DEPLOY.status, 'cancelled');
    } finally {
      await h.sb.clearFault('deploy');
      await h.stopWorker();
    }
  });

  for (const [phase, script, flags] of [
    [
      'SYNC',
      'pull-all',
      { skipSync: false, skipDockerfileUpdate: true, skipInfisical: true, verifyOnly: false },
    ],
    [
      'INFISICAL',
      'seed-infisical',
      { skipSync: true, skipDockerfileUpdate: true, skipInfisical: false, verifyOnly: false },
    ],
    [
      'VERIFY',
      'docker',
      { skipSync: true, skipDockerfileUpdate: true, skipInfisical: true, verifyOnly: true },
    ],
  ] as const) {
    it(`cancel during ${phase} stops its whole process group too`, async () => {
      await h.startWorker();
      await h.sb.writeEnvFile({ ...DEFAULT_ENV, ...INFISICAL_TEST_ENV });
      await h.sb.setFault(script, { sleepSeconds: 120 });
      try {
        const handle = await h.start({ flags });
        await waitForState(handle, (s) => s.phases[phase].status === 'running');
        const pgid = await sleepingGroup(h.config.logDir, handle.workflowId, phase); // in its slow part
        await handle.cancel();
        await handle.result().catch(() => undefined);
        await sleep(5000);
        assert.equal(groupAlive(pgid), false, `no process of the ${phase} group is alive 5 s later`);
        const state = await progress(handle);
        assert.deepEqual([state.status, state.phases[phase].status], ['cancelled', 'cancelled']);
      } finally {
        await h.sb.clearFault(script);
        await h.sb.writeEnvFile(DEFAULT_ENV);
        await h.stopWorker();
      }
    });
  }

  it('cancel during WORKTREE stops its git (a stalled fetch) and everything it started; a resumed run completes', async () => {
    await h.startWorker();
    // Hooks never run and a PATH `git-upload-pack` is shadowed (io/git.ts), so the slow part is the
    // network: origin is a git:// daemon behind a proxy that holds the fetch's connection, as a stalled
    // network would (SYNC, which pulls the same origin, is skipped here).
    const origin = await slowInfraOrigin(h.sb);
    try {
      const handle = await h.start({
        flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: true, verifyOnly: false },
      });
      await waitForState(handle, (s) => s.phases.WORKTREE.status === 'running');
      await origin.waitHeld();
      const pgid = await sleepingGroup(h.config.logDir, handle.workflowId, 'WORKTREE', 60_000, HELD_FETCH);
      await handle.cancel();
      await handle.result().catch(() => undefined);
      await sleep(5000);
      assert.equal(groupAlive(pgid), false, 'no process of the WORKTREE group is alive 5 s later');
      const state = await progress(handle);
      assert.deepEqual([state.status, state.phases.WORKTREE.status], ['cancelled', 'cancelled']);

      // What the interrupted WORKTREE left must not stop the run when it is resumed.
      origin.release();
      const resumed = await h.start({
        runId: handle.workflowId,
        worktreeTicket: state.worktree_ticket,
        flags: state.flags,
        resumeFrom: { phases: { WORKTREE: state.phases.WORKTREE }, worktreePath: null },
      });
      const done = await waitForState(resumed, (s) => !isActive(s.status), 90_000);
      // A run left waiting would hold the target for the tests after this one.
      if (done.status !== 'completed') await resumed.terminate('test failed');
      assert.equal(done.status, 'completed', JSON.stringify(done, null, 2));
      const wt = done.worktree_path ?? '';
      assert.equal(
        (await execa('git', ['-C', wt, 'branch', '--show-current'], { env: h.sb.env })).stdout,
        state.worktree_ticket,
      );
      // What was deployed: origin's commit, with the requested pins.
      const rev = async (r: string) =>
        (await execa('git', ['-C', wt, 'rev-parse', r], { env: h.sb.env })).stdout.trim();
      assert.equal(await rev('HEAD'), await rev('refs/remotes/origin/main'), 'the worktree is origin/main');
      const deployed = await h.sb.deployedPins();
      assert.deepEqual(
        Object.keys(VERSIONS).map((k) => deployed[k]),
        Object.values(VERSIONS),
        'the requested versions were deployed',
      );
    } finally {
      await origin.close();
      await h.stopWorker();
    }
  });

  it('secrets printed by a failing script appear nowhere: history, state, logs', async () => {
    await h.startWorker();
    const secrets = {
      POSTGRES_PASSWORD: 'pg-Secret-Value-9f8e7d',
      SLACK_BOT_TOKEN: 'xoxb-never-show-me-123456',
      REDIS_DSN: 'redis://:dsn-secret-abc@127.0.0.1:6379/0',
    };
    await h.sb.writeEnvFile({ ...DEFAULT_ENV, ...secrets });
    await h.sb.setFault('deploy', { exitCode: 1, message: 'build failed', printEnv: Object.keys(secrets) });
    try {
      const handle = await h.start({
        flags: { skipSync: true, skipDockerfileUpdate: true, skipInfisical: true, verifyOnly: false },
      });
      const waiting = await waitForState(handle, waitingOn('DEPLOY'));
      assert.ok(
        (waiting.phases.DEPLOY['log_tail'] as string[]).some((l) => l.includes('POSTGRES_PASSWORD=***')),
        'the tail shows the line, masked',
      );
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase: 'DEPLOY' }] });
      await handle.result().catch(() => undefined);
      const exported = (
        await execa(await temporalCli(), [
          'workflow',
          'show',
          '--address',
          h.address,
          '--workflow-id',
          handle.workflowId,
          '--output',
          'json',
        ])
      ).stdout;
      const haystacks: Record<string, string> = {
        history: exported + JSON.stringify(await handle.fetchHistory()),
        state: JSON.stringify(await progress(handle)),
      };
      const logDir = path.join(h.config.logDir, handle.workflowId);
      for (const f of await fs.readdir(logDir))
        haystacks[`log ${f}`] = await fs.readFile(path.join(logDir, f), 'utf8');
      assert.match(haystacks['log DEPLOY.log'] ?? '', /SLACK_BOT_TOKEN=\*\*\*/);
      for (const [where, text] of Object.entries(haystacks)) {
        for (const [name, value] of Object.entries(secrets)) {
          assert.ok(!text.includes(value), `${name} leaked into ${where}`);
        }
      }
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
      await h.stopWorker();
    }
  });
});
