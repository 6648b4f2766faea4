import { after, before, describe, it } from 'node:test';
import type { Browser, BrowserContext } from 'playwright-core';
import { createHarness, type Harness } from '../support/harness.js';
import { launchChromium, screenshot } from '../support/browser.js';
import { skipWithoutChromium, uiContext, uiServer } from '../support/webui-pages.js';
import { assertRanAtOnce, deployInBackoff } from '../support/deploy-backoff.js';

describe('resetting a DEPLOY in retry backoff from the Web UI', { concurrency: 1 }, () => {
  if (skipWithoutChromium()) return;
  let ui: string;
  let stopServer: (() => Promise<void>) | undefined;
  let h: Harness | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;

  before(async () => {
    ({ ui, stop: stopServer } = await uiServer());
    h = await createHarness('webui-activity-reset');
    browser = await launchChromium();
    context = await uiContext(browser);
  });
  after(async () => {
    await browser?.close();
    await h?.close();
    await stopServer?.();
  });

  it('Pending Activities → Reset runs DEPLOY again at once', async () => {
    if (!h) throw new Error('no harness');
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      const page = await context.newPage();
      const id = handle.workflowId;
      await page.goto(`${ui}/namespaces/default/workflows/${id}`, { waitUntil: 'domcontentloaded' });
      await page.getByTestId('workflow-id-heading').getByText(id).waitFor();
      await page.getByRole('tab', { name: /^Pending Activities/ }).click();
      await page.getByRole('button', { name: 'Reset', exact: true }).first().click();
      const dialog = page.locator('dialog[open]');
      await screenshot(page, 'webui-activity-reset.png');
      await dialog.getByTestId('confirm-modal-button').click();
      await assertRanAtOnce(h, handle, nextAttemptAt);
      await page.close();
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
