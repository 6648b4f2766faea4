import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { temporalCli } from '../support/temporal.js';
import { assertRanAtOnce, deployInBackoff } from '../support/deploy-backoff.js';
import { withHarness } from '../support/suite.js';

describe('`temporal activity reset` on a DEPLOY waiting in retry backoff', { concurrency: 1 }, () => {
  const h = withHarness('activity-reset');

  it('runs DEPLOY again at once, reruns no earlier phase, and deploys the requested versions', async () => {
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      // The operator does not want to wait for the backoff.
      const reset = await execa(
        await temporalCli(),
        [
          'activity',
          'reset',
          '--address',
          h.address,
          '--workflow-id',
          handle.workflowId,
          '--activity-type',
          'deploy',
        ],
        { reject: false },
      );
      assert.equal(reset.exitCode, 0, reset.stderr);
      await assertRanAtOnce(h, handle, nextAttemptAt);
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
