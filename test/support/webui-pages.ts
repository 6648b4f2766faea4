import { it } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { chromiumMissing, temporalUi } from './browser.js';
import { teardownTestEnv } from './temporal.js';

/** Helpers for the Web UI tests: what a person reads and clicks on a run's page. */

// The Temporal Web UI is a single-page app; the first load on a busy 2-core machine can be slow.
export const UI_TIMEOUT = 30_000;

export const squash = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Opens a run's page and, as a person would, its User Metadata tab; returns the Current Details frame. */
export async function openUserMetadata(page: Page, ui: string, workflowId: string) {
  await openRunPage(page, ui, workflowId);
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  // 2.42 lists the events with a summary under their own heading first; 2.54 has no such list.
  if (!(await uiAtLeast(ui, TIMELINE_UI)))
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

/** The Web UI's version (`GET <ui>/api/v1/settings` → `Version`, e.g. "2.54.1"), asked once per UI. */
const versions = new Map<string, Promise<string>>();
export function uiVersion(ui: string): Promise<string> {
  let v = versions.get(ui);
  if (!v) {
    v = (async () => {
      const res = await fetch(`${ui}/api/v1/settings`);
      const body = (await res.json()) as { Version?: unknown };
      if (typeof body.Version !== 'string') throw new Error(`${ui}/api/v1/settings has no Version`);
      return body.Version;
    })();
    versions.set(ui, v);
  }
  return v;
}

/** Whether the UI at `ui` is `min` (e.g. "2.47") or later. */
export async function uiAtLeast(ui: string, min: string): Promise<boolean> {
  const have = (await uiVersion(ui)).split('.').map(Number);
  const want = min.split('.').map(Number);
  for (let i = 0; i < want.length; i++) {
    const a = have[i] ?? 0;
    const b = want[i] ?? 0;
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * The UI line that laid the run page out anew: it opens on a Timeline tab, the history tab is "Event
 * History", and the User Metadata tab lost its "Events with Metadata" list (2.42.1 has none of this).
 * The two tested UIs are 2.42.1 and 2.54.1; one in between is read as 2.42 (untested).
 */
const TIMELINE_UI = '2.54';

/** Opens a run's page (on whichever tab the UI opens it: History on 2.42, Timeline on 2.54). */
export async function openRunPage(page: Page, ui: string, workflowId: string) {
  await page.goto(`${ui}/namespaces/default/workflows/${workflowId}`, { waitUntil: 'domcontentloaded' });
  await page.getByTestId('workflow-id-heading').getByText(workflowId).waitFor();
}

/** Clicks the run page's event history tab: "History" on UI 2.42, "Event History" on 2.54. */
export async function historyTab(page: Page) {
  await page.getByRole('tab', { name: /^(Event )?History/ }).click();
}

/**
 * The status the UI shows for the event whose summary is `summary` ("Completed", "Failed", …): on 2.54
 * the Timeline's bar for it says so in its label ("Event deploy: Failed"); on 2.42 the User Metadata
 * tab's "Events with Metadata" row does ("Activity | summary | Failed"). Leaves the page on that tab.
 */
export async function eventStatus(page: Page, ui: string, summary: string): Promise<string> {
  if (await uiAtLeast(ui, TIMELINE_UI)) {
    await page.getByRole('tab', { name: 'Timeline', exact: true }).click();
    const bar = page
      .getByRole('button', { name: /^Event / })
      .filter({ has: page.getByText(new RegExp(`(^| • )${escapeRegExp(summary)}$`)) });
    await bar.first().waitFor();
    const label = (await bar.first().getAttribute('aria-label')) ?? '';
    return label.replace(/^Event [^:]*: /, '');
  }
  await page.getByRole('tab', { name: 'User Metadata' }).click();
  const row = page
    .locator('div')
    .filter({ has: page.getByText(summary, { exact: true }) })
    .filter({ has: page.getByText(EVENT_STATUS) })
    .filter({ hasNot: page.getByRole('heading') })
    .last();
  await row.waitFor();
  return squash(await row.getByText(EVENT_STATUS).first().innerText());
}

const EVENT_STATUS = /^\s*(Completed|Failed|Running|Scheduled|Started|Terminated)\s*$/;
const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The label the timeline gives an activity: "<activity type> • <summary>" (svg text on 2.42, a bar's text on 2.54). */
export async function timelineLabels(page: Page, ui: string, summary: string) {
  if (await uiAtLeast(ui, TIMELINE_UI)) {
    await page.getByRole('tab', { name: 'Timeline', exact: true }).click();
    return page.getByRole('button', { name: /^Event / }).getByText(` • ${summary}`, { exact: false });
  }
  return page.locator('svg text').filter({ hasText: ` • ${summary}` });
}

/**
 * Whether the User Metadata tab takes r/R as "refresh" even inside the Update dialog: UI 2.42.1 does (a
 * typed `retry` arrives as `ety`), 2.54.1 does not. UIs in between are untested; read as 2.42.
 */
export async function rKeySwallowed(ui: string): Promise<boolean> {
  return !(await uiAtLeast(ui, TIMELINE_UI));
}

/**
 * Waits until the run page shows the run's failure with `message` in it: 2.42 shows it above the
 * history, 2.54 in the Timeline tab's Result box (where the page opens).
 */
export async function runFailureShown(page: Page, message: string) {
  await page.getByText(message).first().waitFor();
}
