import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedeployState } from '../../src/core/state.js';
import { decideUpdate } from '../../src/workflows/messages.js';
import { progress, waitForState, waitingOn } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

/**
 * The host's state file and skill result are written by the worker (a workflow sink), with no CLI at
 * all here; across a worker restart (a fresh worker replays the history, which writes nothing) the next
 * change writes the whole state again, up to the end.
 */
describe('the worker writes the state file and the skill result', { concurrency: 1 }, () => {
  const h = withHarness('mirror');

  const read = async <T>(file: string) =>
    JSON.parse(await fs.readFile(file, 'utf8').catch(() => 'null')) as T | null;
  async function until<T>(file: string, done: (v: T) => boolean): Promise<T> {
    const deadline = Date.now() + 60_000;
    for (;;) {
      const v = await read<T>(file);
      if (v && done(v)) return v;
      assert.ok(Date.now() < deadline, `${file}: ${JSON.stringify(v)}`);
      await sleep(100);
    }
  }

  it('on every change, and after a worker restart up to the completed run', async () => {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'boom' });
    const handle = await h.start({ skillContext: 'ctx-mirror' });
    const id = handle.workflowId;
    const file = path.join(h.sb.stateDir, `${id}.json`);
    const result = path.join(h.sb.skillResultsDir, 'ctx-mirror', 'redeploy.json');
    await waitForState(handle, waitingOn('DEPLOY'));
    const waiting = await until<RedeployState>(file, (s) => s.status === 'waiting_for_decision');
    assert.deepEqual(waiting, await progress(handle), 'the file is the query, byte for byte in content');
    assert.equal((await fs.stat(file)).mode & 0o777, 0o600);
    const r1 = await until<{ run_status: string }>(result, (r) => r.run_status === 'waiting_for_decision');
    assert.equal((r1 as { status?: string }).status, 'failed');

    // A fresh worker: it replays the history on the next task (no writes for replayed changes).
    await h.stopWorker();
    await fs.rm(file);
    await h.startWorker();
    await h.sb.clearFault('deploy');
    await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase: 'DEPLOY', by: 'alice' }] });
    const final = (await handle.result()) as RedeployState;
    assert.equal(final.status, 'completed');
    const mirrored = await until<RedeployState>(file, (s) => s.status === 'completed');
    assert.deepEqual(mirrored, final, 'the final state, as the run returned it');
    assert.deepEqual(mirrored.pins_applied, { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' });
    const deployed = await h.sb.deployedPins();
    assert.deepEqual([deployed['omninode-claude'], deployed['omniintelligence']], ['0.4.0', '0.8.0']);
    const r2 = await until<{ status: string; run_id: string }>(result, (r) => r.status === 'success');
    assert.equal(r2.run_id, id);
  });
});
