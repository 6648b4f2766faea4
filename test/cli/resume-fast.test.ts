import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type WorkflowClientInterceptor } from '@temporalio/client';
import { execa } from 'execa';
import { parseCommand, type Command } from '../../src/cli/args.js';
import { resume } from '../../src/cli/commands/resume.js';
import type { Context } from '../../src/cli/commands/shared.js';
import { runStateOrUndefined } from '../../src/core/parse-state.js';
import type { RedeployState } from '../../src/core/state.js';
import { activityRuns, waitForState, waitingOn } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

// Issue 23: `--resume` of a waiting run sends its retry before anything else (describe, query), taking the
// phase from the run's state file; the run's validator refuses any other phase, and the full path decides.
// In-process, so the calls the command makes can be counted: a client of the same connection with the SDK's
// own interceptors, recording each call in order.
describe('--resume of a waiting run: the retry first', { concurrency: 1 }, () => {
  const h = withHarness('resume-fast');

  async function waitingRun(): Promise<{ id: string; file: string; waiting: RedeployState }> {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'broken' });
    const handle = await h.start();
    await waitForState(handle, waitingOn('DEPLOY'));
    const file = path.join(h.config.stateDir, `${handle.workflowId}.json`);
    // The worker mirrors the state file after the activation: wait for its copy of the wait.
    for (let i = 0; ; i++) {
      const s = runStateOrUndefined(JSON.parse(await fs.readFile(file, 'utf8').catch(() => 'null')));
      if (s?.status === 'waiting_for_decision') {
        await h.sb.clearFault('deploy');
        return { id: handle.workflowId, file, waiting: s };
      }
      if (i > 300) throw new Error(`${file} never said waiting_for_decision`);
      await sleep(50);
    }
  }

  function recordingContext(calls: string[], out: string[]): Context {
    const recorder: WorkflowClientInterceptor = {
      describe: (input, next) => (calls.push('describe'), next(input)),
      query: (input, next) => (calls.push(`query ${input.queryType}`), next(input)),
      startUpdate: (input, next) => {
        calls.push(`update ${(input.args[0] as { phase?: string }).phase ?? '?'}`);
        return next(input);
      },
    };
    const client = new Client({
      connection: h.client.connection,
      namespace: h.config.temporal.namespace,
      interceptors: { workflow: [recorder] },
    });
    return {
      client,
      config: h.config,
      out: (l) => out.push(l),
      signal: new AbortController().signal,
      tty: false,
    };
  }

  const resumeCommand = (id: string) =>
    parseCommand(['--resume', id]) as Extract<Command, { kind: 'resume' }>;

  it('sends the retry for the file’s phase before any describe or query, and the run deploys it', async () => {
    const { id } = await waitingRun();
    const calls: string[] = [];
    const out: string[] = [];
    assert.equal(await resume(recordingContext(calls, out), resumeCommand(id)), 0, out.join('\n'));
    assert.equal(calls[0], 'update DEPLOY', calls.join(', '));
    assert.ok(out.includes(`Resuming ${id}: retrying DEPLOY`), out.join('\n'));
    assert.equal(await activityRuns(h, id, 'DEPLOY'), 2);
    const pins = await h.sb.deployedPins();
    assert.deepEqual([pins['omninode-claude'], pins['omniintelligence']], ['0.4.0', '0.8.0']);
  });

  it('a file naming another phase: refused by the run, then the describe and query, then its own phase', async () => {
    const { id, file, waiting } = await waitingRun();
    const planted = { ...waiting, pending_decision: { ...waiting.pending_decision, phase: 'VERIFY' } };
    assert.ok(runStateOrUndefined(planted));
    await fs.writeFile(file, JSON.stringify(planted));
    const calls: string[] = [];
    const out: string[] = [];
    assert.equal(await resume(recordingContext(calls, out), resumeCommand(id)), 0, out.join('\n'));
    assert.deepEqual(calls.slice(0, 4), ['update VERIFY', 'describe', 'query progress', 'update DEPLOY']);
    assert.equal(await activityRuns(h, id, 'DEPLOY'), 2);
    assert.equal(await activityRuns(h, id, 'VERIFY'), 1);
    const pins = await h.sb.deployedPins();
    assert.deepEqual([pins['omninode-claude'], pins['omniintelligence']], ['0.4.0', '0.8.0']);
  });

  it('a FIFO where the state file was: not waited on, not trusted; the run is asked and retried', async () => {
    const { id, file } = await waitingRun();
    await fs.rm(file);
    await execa('mkfifo', [file]);
    const calls: string[] = [];
    const out: string[] = [];
    assert.equal(await resume(recordingContext(calls, out), resumeCommand(id)), 0, out.join('\n'));
    assert.deepEqual(calls.slice(0, 3), ['describe', 'query progress', 'update DEPLOY']);
    assert.equal(await activityRuns(h, id, 'DEPLOY'), 2);
    const pins = await h.sb.deployedPins();
    assert.deepEqual([pins['omninode-claude'], pins['omniintelligence']], ['0.4.0', '0.8.0']);
  });
});
