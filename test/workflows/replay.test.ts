import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { Worker } from '@temporalio/worker';
import { testBundle } from '../support/temporal.js';

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
