import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { execa } from 'execa';
import { temporalCli, testBundle } from '../support/temporal.js';
import { withHarness } from '../support/suite.js';

/**
 * Recorded histories of real runs must replay against the current workflow code: a change that breaks
 * determinism for runs already in flight fails here, not in production. Re-record with
 * `REDEPLOY_RECORD_HISTORIES=1 npm test` only when a change is deliberately incompatible (and versioned).
 */
const DIR = new URL('../../../test/fixtures/histories/', import.meta.url).pathname;

describe('replay of recorded histories', async () => {
  const files = (await fs.readdir(DIR)).filter((f) => f.endsWith('.json')).sort();

  it('has recorded histories to replay', () => {
    assert.ok(files.length >= 2, `histories in ${DIR}: ${files.join(', ')}`);
  });

  for (const file of files) {
    it(`replays ${file} deterministically`, async () => {
      const history: unknown = JSON.parse(await fs.readFile(path.join(DIR, file), 'utf8'));
      await Worker.runReplayHistory(
        { workflowBundle: await testBundle() },
        history,
        path.basename(file, '.json'),
      );
    });
  }
});

/**
 * The same against the Temporal line this suite runs on (CI runs it on the current and the previous one):
 * a run on this server, its history exported by this line's `temporal workflow show --output json`, replayed.
 */
describe('replay of a history from this Temporal server and CLI', { concurrency: 1 }, () => {
  const h = withHarness('replay-live');

  it('a full run exported by `temporal workflow show` replays deterministically', async () => {
    const handle = await h.start();
    assert.equal((await handle.result()).status, 'completed');
    const cli = await temporalCli();
    const version = (await execa(cli, ['--version'])).stdout;
    const shown = await execa(cli, [
      'workflow',
      'show',
      '--address',
      h.address,
      '--workflow-id',
      handle.workflowId,
      '--output',
      'json',
    ]);
    const history = JSON.parse(shown.stdout) as { events?: unknown[] };
    assert.ok((history.events?.length ?? 0) > 20, `${version}: a whole history`);
    await Worker.runReplayHistory({ workflowBundle: await testBundle() }, history, handle.workflowId);
  });
});
