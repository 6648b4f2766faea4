import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { progress, waitForState, waitingOn } from '../support/harness.js';
import { screenshot } from '../support/browser.js';
import {
  openRunPage,
  openUserMetadata,
  runFailureShown,
  skipWithoutChromium,
} from '../support/webui-pages.js';
import { chooseDecide, decideSession, submitData } from '../support/webui-decide.js';

describe('skipping and aborting from the Temporal Web UI, as an operator does', () => {
  if (skipWithoutChromium()) return;
  const s = decideSession('webui-skip-abort');

  it('skips a failed DEPLOY from the Update dialog, then aborts the failed VERIFY from the Signal dialog', async () => {
    const before = await s.h.sb.deployedPins();
    await s.h.sb.setFault('deploy', { exitCode: 1, message: 'boom' });
    // Not the versions the first test deployed: VERIFY must not find them running.
    const handle = await s.startWithCli('omninode-claude=0.4.1,omniintelligence=0.8.1');
    await waitForState(handle, waitingOn('DEPLOY'));
    const page = await s.context.newPage();
    await openUserMetadata(page, s.ui, handle.workflowId);
    const update = await chooseDecide(page, 'Update');
    await submitData(
      page,
      update.dialog,
      '{"action":"skip","phase":"DEPLOY","by":"bob","reason":"deployed by hand"}',
    );
    await update.dialog.waitFor({ state: 'hidden' });
    await s.h.sb.clearFault('deploy');

    // Nothing was deployed, so VERIFY finds the old versions and fails in turn (after REDEPLOY_VERIFY_TIMEOUT).
    await waitForState(handle, waitingOn('VERIFY'), 90_000);
    await openRunPage(page, s.ui, handle.workflowId);
    const signal = await chooseDecide(page, 'Signal');
    assert.match(signal.description, /^decide VERIFY is waiting\. .*prefer the update/);
    await submitData(page, signal.dialog, '{"action":"abort","phase":"VERIFY","by":"bob"}');
    await signal.dialog.waitFor({ state: 'hidden' });
    const err = await handle.result().then(
      () => assert.fail('an aborted run fails'),
      (e: unknown) => e,
    );
    assert.ok(err);
    const state = await progress(handle).catch(() => undefined);
    const final = state ?? (await waitForState(handle, (s) => s.status === 'aborted'));
    assert.equal(final.status, 'aborted');
    assert.equal(final.phases.DEPLOY.status, 'skipped_by_operator');
    assert.equal(final.phases.NOTIFY.status, 'pending');
    assert.deepEqual(
      final.decisions.map(({ phase, action, by }) => ({ phase, action, by })),
      [
        { phase: 'DEPLOY', action: 'skip', by: 'bob' },
        { phase: 'VERIFY', action: 'abort', by: 'bob' },
      ],
    );
    assert.equal(final.decisions[0]?.reason, 'deployed by hand');
    assert.deepEqual(await s.h.sb.deployedPins(), before, 'nothing deployed');
    // The run's page shows it failed (an abort fails the workflow: RedeployAborted), with who aborted it.
    // Opened anew, not reloaded: a reload stays on the history tab, where UI 2.54 shows no failure (its
    // Timeline does). The message, not the type: UI 2.54's result box renders only its first lines.
    await openRunPage(page, s.ui, handle.workflowId);
    await runFailureShown(page, 'aborted by bob at VERIFY');
    await screenshot(page, 'webui-decide-aborted.png');
    await page.close();
  });
});
