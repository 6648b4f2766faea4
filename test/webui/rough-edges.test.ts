import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { progress, waitForState, waitingOn } from '../support/harness.js';
import { screenshot } from '../support/browser.js';
import {
  eventStatus,
  openUserMetadata,
  rKeySwallowed,
  skipWithoutChromium,
  squash,
} from '../support/webui-pages.js';
import { chooseDecide, decideSession, submitData } from '../support/webui-decide.js';

/** The Update dialog opened where the page's own instructions are: the User Metadata tab. */
async function updateFromUserMetadata(page: Page) {
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: 'Send an Update' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByTestId('update-select-button').click();
  await dialog
    .getByRole('option')
    .filter({ hasText: /^\s*decide/ })
    .click();
  return dialog;
}

describe('the rough edges of a failed run in the Web UI, as an operator meets them', () => {
  if (skipWithoutChromium()) return;
  const s = decideSession('webui-rough-edges');

  it('a decision typed on the User Metadata tab is refused as mangled on UI 2.42 (whole on 2.54), the page says where to type, nothing is half-applied', async () => {
    await s.h.sb.setFault('deploy', { exitCode: 1, message: 'compose build failed (deliberate)' });
    const handle = await s.startWithCli('omninode-claude=0.4.0,omniintelligence=0.8.0');
    const id = handle.workflowId;
    await waitForState(handle, waitingOn('DEPLOY'));
    const page = await s.context.newPage();
    const details = await openUserMetadata(page, s.ui, id);

    // Current Details: the warning where the instructions are, no literal entity at its end.
    await details.getByText('First open the History tab').waitFor();
    // The markdown renders the quotes curly.
    await details.getByText(/.Event History. in Web UI 2\.54/).waitFor();
    const text = await details.locator('body').innerText();
    assert.ok(!text.includes('&nbsp;'), text.slice(-200));
    assert.match(squash(text), /Deploys: origin\/main @ [0-9a-f]{12}/, 'a retry still deploys it');

    const abort = '{"action":"abort","phase":"DEPLOY","by":"bob","reason":"wrong build"}';
    if (await rKeySwallowed(s.ui)) {
      // Typed here, as the page used to say: `reason` arrives as `eason`, and is refused, saying why.
      const dialog = await updateFromUserMetadata(page);
      await submitData(page, dialog, '{"action":"skip","phase":"DEPLOY","by":"bob","reason":"known flaky"}');
      await dialog.getByText(/unknown field "eason"/).waitFor();
      await dialog.getByText(/its r\/R look swallowed/).waitFor();
      await screenshot(page, 'webui-r-swallowed-refused.png');
      const still = await progress(handle);
      assert.equal(still.status, 'waiting_for_decision', 'the mangled decision changed nothing');
      assert.deepEqual(still.decisions, []);
      await page.keyboard.press('Escape');

      // Where the page says to type, the same payload arrives whole.
      const update = await chooseDecide(page, 'Update');
      await submitData(page, update.dialog, abort);
      await update.dialog.waitFor({ state: 'hidden' });
    } else {
      // UI 2.54 leaves r/R alone in the dialog: typed right on this tab, the payload arrives whole.
      const dialog = await updateFromUserMetadata(page);
      await submitData(page, dialog, abort);
      await dialog.waitFor({ state: 'hidden' });
    }
    const final = await waitForState(handle, (x) => x.status === 'aborted');
    assert.deepEqual(
      final.decisions.map(({ action, by, reason }) => ({ action, by, reason })),
      [{ action: 'abort', by: 'bob', reason: 'wrong build' }],
    );

    // The aborted run's details: nothing deployed, no entity, the last row whole.
    const after = await openUserMetadata(page, s.ui, id);
    await after.getByText(/Deployed: nothing \(DEPLOY did not complete\)/).waitFor();
    assert.ok(!(await after.locator('body').innerText()).includes('&nbsp;'));
    await screenshot(page, 'webui-details-aborted.png', true);
    // The alert's activity says what it is, not "NOTIFY failed DEPLOY".
    assert.equal(
      await eventStatus(page, s.ui, 'failure alert: DEPLOY failed — waiting for a decision'),
      'Completed',
    );
    assert.equal(await page.getByText('NOTIFY failed DEPLOY').count(), 0);
    // The target lock's child says it completed (it used to stay "Started" on a closed run).
    assert.equal(await eventStatus(page, s.ui, `target lock: the default target, for ${id}`), 'Completed');
  });
});
