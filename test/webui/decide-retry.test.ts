import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { RedeployState } from '../../src/core/state.js';
import { activityRuns, progress, waitForState, waitingOn } from '../support/harness.js';
import { screenshot } from '../support/browser.js';
import { metadataFrame, openUserMetadata, skipWithoutChromium, squash } from '../support/webui-pages.js';
import { chooseDecide, decideSession, submitData } from '../support/webui-decide.js';

const VERSIONS_ARG = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

describe('retrying a failed phase from the Temporal Web UI, as an operator does', () => {
  if (skipWithoutChromium()) return;
  const s = decideSession('webui-retry');

  it('retries a failed DEPLOY from the Update dialog: a wrong phase is refused with the reason, then the run completes', async () => {
    await s.h.sb.setFault('deploy', {
      exitCode: 1,
      message: 'compose build failed: no space left on device',
    });
    const handle = await s.startWithCli(VERSIONS_ARG);
    const id = handle.workflowId;
    await waitForState(handle, waitingOn('DEPLOY'));
    const page = await s.context.newPage();

    // The run page says what the run is and, first, what failed and what to send.
    const details = await openUserMetadata(page, s.ui, id);
    const summary = metadataFrame(page, 'Summary').getByText(
      `redeploy ${VERSIONS_ARG} on default target · by `,
    );
    await summary.waitFor();
    assert.match(squash(await summary.innerText()), /· by \S+@\S+$/);
    await metadataFrame(page, 'Details').getByText(`redeploy --versions ${VERSIONS_ARG} --detach`).waitFor();
    const first = details.locator('main > *').first();
    assert.equal(
      squash(await first.innerText()),
      `DEPLOY failed — the run waits for your decision (until ${(await progress(handle)).pending_decision?.deadline})`,
    );
    await details.getByText('Why: deploy-runtime.sh failed (exit 1)').waitFor();
    await details.getByText('compose build failed: no space left on device').first().waitFor();
    await details.getByText('{"action":"retry","phase":"DEPLOY","by":"your name"}').waitFor();
    await details.getByText(`redeploy retry ${id}`).waitFor();
    // Every row of the phase table is whole: the UI's frame is tall enough for the last one.
    const frame = page.locator(
      'xpath=//h3[normalize-space()="Current Details"]/ancestor::div[.//iframe][1]//iframe',
    );
    const frameHeight = (await frame.boundingBox())?.height ?? 0;
    const lastRow = await details.getByRole('row').last().boundingBox();
    assert.ok(lastRow, 'the phase table has rows');
    const frameTop = (await frame.boundingBox())?.y ?? 0;
    assert.ok(lastRow.y + lastRow.height <= frameTop + frameHeight, 'NOTIFY row not clipped');
    await screenshot(page, 'webui-decide-waiting.png', true);

    const { dialog, description } = await chooseDecide(page, 'Update', 'webui-decide-dropdown.png');
    assert.match(
      description,
      /^decide DEPLOY is waiting\. .*\{"action":"retry","phase":"DEPLOY","by":"your name"\}/,
    );
    await submitData(page, dialog, '{"action":"retry","phase":"VERIFY","by":"alice"}');
    const refusal = dialog.getByText(
      'DEPLOY is waiting, not VERIFY: send e.g. {"action":"retry","phase":"DEPLOY","by":"your name"}',
    );
    await refusal.waitFor();
    await screenshot(page, 'webui-decide-refused.png');
    assert.equal(
      (await progress(handle)).status,
      'waiting_for_decision',
      'a refused decision changes nothing',
    );

    await s.h.sb.clearFault('deploy');
    await submitData(page, dialog, '{"action":"retry","phase":"DEPLOY","by":"alice"}');
    await dialog.waitFor({ state: 'hidden' });
    const state = (await handle.result()) as RedeployState;
    assert.equal(state.status, 'completed');
    for (const phase of ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const)
      assert.equal(await activityRuns(s.h, id, phase), 1, `${phase} ran once`);
    assert.equal(await activityRuns(s.h, id, 'DEPLOY'), 2, 'DEPLOY ran twice');
    assert.deepEqual(
      state.decisions.map(({ phase, action, by }) => ({ phase, action, by })),
      [{ phase: 'DEPLOY', action: 'retry', by: 'alice' }],
    );
    assert.deepEqual(state.pins_applied, { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' });
    const deployed = await s.h.sb.deployedPins();
    assert.deepEqual(
      [deployed['omninode-claude'], deployed['omniintelligence']],
      ['0.4.0', '0.8.0'],
      'the requested versions run',
    );
    await page.close();
  });
});
