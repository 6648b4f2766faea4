import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { activityRuns, createHarness, type Harness } from '../support/harness.js';
import { launchChromium, screenshot } from '../support/browser.js';
import { skipWithoutChromium, uiContext, uiServer } from '../support/webui-pages.js';
import { assertRanAtOnce, deployInBackoff } from '../support/deploy-backoff.js';
import { temporalCli } from '../support/temporal.js';

/** Where the docs' screenshots live (test-artifacts/ keeps the rest). */
const DOCS = new URL('../../../docs/', import.meta.url).pathname;

describe('pausing and resetting a DEPLOY in retry backoff from the Web UI', { concurrency: 1 }, () => {
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

  async function pendingActivities(id: string): Promise<Page> {
    const page = await context.newPage();
    await page.goto(`${ui}/namespaces/default/workflows/${id}`, { waitUntil: 'domcontentloaded' });
    await page.getByTestId('workflow-id-heading').getByText(id).waitFor();
    await page.getByRole('tab', { name: /^Pending Activities/ }).click();
    return page;
  }

  it('Pending Activities → Reset runs DEPLOY again at once', async () => {
    if (!h) throw new Error('no harness');
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      const page = await pendingActivities(handle.workflowId);
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

  it('Pending Activities → Pause holds DEPLOY past its backoff; Unpause then runs it at once', async (t) => {
    if (!h) throw new Error('no harness');
    // The previous Temporal line's UI (2.42.1) has no activity Pause: it came with UI 2.47.
    const version = (await execa(await temporalCli(), ['--version'])).stdout;
    const [major = 0, minor = 0] = (/UI (\d+)\.(\d+)/.exec(version) ?? []).slice(1).map(Number);
    if (major < 2 || (major === 2 && minor < 47))
      return t.skip(`${version}: no activity Pause before UI 2.47`);
    const { handle, nextAttemptAt } = await deployInBackoff(h);
    try {
      const page = await pendingActivities(handle.workflowId);
      const buttons = await page.getByRole('button').allInnerTexts();
      const pause = page.getByRole('button', { name: 'Pause', exact: true }).first();
      assert.ok(await pause.count(), `a Pause button among: ${buttons.join(' | ')}`);
      await pause.click();
      const dialog = page.locator('dialog[open]');
      await dialog.waitFor();
      await screenshot(page, 'webui-activity-pause-dialog.png');
      await dialog.getByTestId('confirm-modal-button').click();
      await dialog.waitFor({ state: 'detached' }).catch(() => undefined);
      for (const deadline = Date.now() + 15_000; ; await sleep(250)) {
        const a = (await handle.describe()).raw.pendingActivities?.find(
          (p) => p.activityType?.name === 'deploy',
        );
        if (a?.paused) break;
        assert.ok(Date.now() < deadline, 'the server shows DEPLOY paused');
      }
      // Paused, the retry that was due does not run.
      await sleep(Math.max(0, nextAttemptAt - Date.now()) + 3000);
      assert.equal(await activityRuns(h, handle.workflowId, 'DEPLOY'), 2, 'no attempt while paused');
      await page.reload({ waitUntil: 'domcontentloaded' });
      await page.getByRole('tab', { name: /^Pending Activities/ }).click();
      await page
        .getByText(/Paused/i)
        .first()
        .waitFor();
      // The operator's view of a paused phase, kept for docs/OPERATING.md.
      await fs.mkdir(DOCS, { recursive: true });
      await page.screenshot({ path: `${DOCS}webui-activity-paused.png` });
      const unpausedAt = Date.now();
      await page.getByRole('button', { name: 'Unpause', exact: true }).first().click();
      const confirm = page.locator('dialog[open]');
      // Some UI versions confirm in a dialog, others act at once.
      await confirm.waitFor({ timeout: 3000 }).then(
        () => confirm.getByTestId('confirm-modal-button').click(),
        () => undefined,
      );
      // Past its backoff, the unpaused DEPLOY starts at once: one more attempt, nothing else re-run.
      await assertRanAtOnce(h, handle, unpausedAt + 15_000, 'unpause');
      await page.close();
    } finally {
      await handle.terminate('test done').catch(() => undefined);
    }
  });
});
