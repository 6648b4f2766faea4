import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, BrowserContext, Locator, Page } from 'playwright-core';
import { DEFAULT_ENV } from './sandbox.js';
import { createHarness, type Harness } from './harness.js';
import { redeploy } from './cli.js';
import { launchChromium, screenshot } from './browser.js';
import { historyTab, squash, uiContext, uiServer } from './webui-pages.js';

/** What the Web UI decision tests share: runs the real CLI starts, a harness worker, a browser. */
export interface DecideSession {
  ui: string;
  h: Harness;
  context: BrowserContext;
  /** Starts a run with the real CLI (detached: the harness's worker runs it), as an operator would. */
  startWithCli(versions: string): Promise<WorkflowHandle>;
}

/** Registers before/after hooks in the calling describe block; the session is ready inside its tests. */
export function decideSession(name: string): DecideSession {
  const started: string[] = [];
  let browser: Browser | undefined;
  let stopServer: (() => Promise<void>) | undefined;
  const s = {} as DecideSession;
  s.startWithCli = async (versions) => {
    const r = await redeploy(['--versions', versions, '--detach'], { ...s.h.vars });
    assert.equal(r.exitCode, 0, r.stdout + r.stderr);
    const id = /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    started.push(id);
    return s.h.client.workflow.getHandle(id);
  };
  before(async () => {
    ({ ui: s.ui, stop: stopServer } = await uiServer());
    s.h = await createHarness(name);
    await s.h.sb.writeEnvFile({ ...DEFAULT_ENV });
    browser = await launchChromium();
    s.context = await uiContext(browser);
  });
  after(async () => {
    await browser?.close();
    for (const id of started)
      await s.h?.client.workflow
        .getHandle(id)
        .terminate('webui test done')
        .catch(() => undefined);
    await s.h?.sb.clearFault('deploy');
    await s.h?.close();
    await stopServer?.();
  });
  return s;
}

/** The `decide` option of the Update or Signal dialog's Name dropdown, which the UI fills from the handler descriptions. */
/** `shot`: a screenshot of the open dropdown, under this name. */
export async function chooseDecide(page: Page, kind: 'Update' | 'Signal', shot?: string) {
  // Not from the User Metadata tab: there the UI takes every `r` key as "refresh the current details",
  // even inside the dialog, and `retry` would arrive as `ety`.
  await historyTab(page);
  await page.getByRole('button', { name: 'More Actions' }).click();
  await page.getByRole('menuitem', { name: kind === 'Update' ? 'Send an Update' : 'Send a Signal' }).click();
  const dialog = page.locator('dialog[open]');
  await dialog.getByTestId(kind === 'Update' ? 'update-select-button' : 'signal-select-button').click();
  const option = dialog.getByRole('option').filter({ hasText: /^\s*decide/ });
  await option.waitFor();
  const description = squash(await option.innerText());
  if (shot) await screenshot(page, shot);
  await option.click();
  return { dialog, description };
}

/**
 * Types `payload` into the dialog's Data editor with the keyboard and submits. Tab leaves the editor
 * first: on blur the UI re-formats the JSON over several lines, which moves Submit down by ~34 px — a
 * click whose mousedown blurs the editor then releases beside the button, and nothing is sent.
 */
export async function submitData(page: Page, dialog: Locator, payload: string) {
  await dialog.locator('.cm-content').click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  await page.keyboard.type(payload);
  await page.keyboard.press('Tab');
  await dialog.getByTestId('confirm-modal-button').click();
}
