import { it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, temporalUi } from './browser.js';
import { teardownTestEnv } from './temporal.js';

/** Helpers for the Web UI tests: what a person reads and clicks on a run's page. */

// The Temporal Web UI is a single-page app; the first load on a busy 2-core machine can be slow.
export const UI_TIMEOUT = 30_000;

export const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Opens a run's page and, as a person would, its User Metadata tab. */
export async function openUserMetadata(page: Page, ui: string, workflowId: string) {
  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`, { waitUntil: 'domcontentloaded' });
  await page.getByTestId('workflow-id-heading').getByText(workflowId).waitFor();
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  await page.getByRole('heading', { name: 'Events with Metadata' }).waitFor();
  await page.getByRole('heading', { name: 'Current Details' }).waitFor();
  return metadataFrame(page, 'Current Details');
}

/** The rendered markdown under a User Metadata heading (Summary, Details, Current Details): each is an iframe titled "output". */
export function metadataFrame(page: Page, heading: string) {
  return page.frameLocator(`xpath=//h3[normalize-space()="${heading}"]/ancestor::div[.//iframe][1]//iframe`);
}

/**
 * Outside CI, a missing Chromium skips the describe block it is called in (one skipped test says why);
 * returns true then. In CI a missing Chromium fails in `uiServer`.
 */
export function skipWithoutChromium(): boolean {
  const missing = chromiumMissing();
  if (!missing || process.env['CI']) return false;
  it('needs chromium', (t) => {
    t.skip(`${missing}; skipping the Web UI test`);
  });
  return true;
}

/** The Web UI's URL, and `stop` (after the harness closed) for a dev server a file run alone started. */
export async function uiServer(): Promise<{ ui: string; stop: () => Promise<void> }> {
  const missing = chromiumMissing();
  if (missing) throw new Error(`CI is set but ${missing}`);
  const { ui, stop } = await temporalUi();
  return {
    ui,
    async stop() {
      if (!stop) return;
      await teardownTestEnv();
      await stop();
    },
  };
}

/** A browser context as the tests look at the UI: a wide window, UTC times, patient timeouts. */
export async function uiContext(browser: Browser): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 1600, height: 1000 }, timezoneId: 'UTC' });
  context.setDefaultTimeout(UI_TIMEOUT);
  return context;
}
