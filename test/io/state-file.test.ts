import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { initState, type RedeployState } from '../../src/core/state.js';
import { readStateFile, writeStateFileIfNewer } from '../../src/io/state-file.js';
import { SAMPLE_INPUT } from '../support/state.js';

const sample = (version: number, temporalRunId = 'run-a'): RedeployState => ({
  ...initState(
    SAMPLE_INPUT,
    { workflowId: SAMPLE_INPUT.runId, runId: temporalRunId },
    '2026-12-02T08:00:00.000Z',
  ),
  version,
});

describe('writeStateFileIfNewer (the worker and an attached CLI both write the state file)', () => {
  it('never replaces a later version of the same execution; a new execution (resume) always writes', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-state-'));
    try {
      assert.equal(await writeStateFileIfNewer(dir, sample(5)), true);
      assert.equal(await writeStateFileIfNewer(dir, sample(3)), false, 'older: kept');
      assert.equal((await readStateFile(dir, SAMPLE_INPUT.runId))?.['version'], 5);
      assert.equal(await writeStateFileIfNewer(dir, sample(5)), true, 'same version: rewritten');
      assert.equal(await writeStateFileIfNewer(dir, sample(1, 'run-b')), true, 'another execution');
      const now = await readStateFile(dir, SAMPLE_INPUT.runId);
      assert.deepEqual([now?.['version'], now?.['temporal_run_id']], [1, 'run-b']);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
