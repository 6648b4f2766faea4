import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { WorkflowHandle } from '@temporalio/client';
import type { Browser, BrowserContext, FrameLocator, Page } from 'playwright-core';
import { PHASES, type Phase } from '../../src/core/phases.js';
import type { RedeployState } from '../../src/core/state.js';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { createHarness, waitForState, waitingOn, type Harness } from '../support/harness.js';
import { launchChromium, screenshot } from '../support/browser.js';
import {
  UI_TIMEOUT,
  eventStatus,
  historyTab,
  openRunPage,
  openUserMetadata,
  skipWithoutChromium,
  squash,
  timelineLabels,
  uiContext,
  uiServer,
} from '../support/webui-pages.js';

/** What the Web UI shows for each phase activity of the completed run (`${PHASE} ${what it does}`). */
function expectedSummaries(runId: string): Record<Phase, string> {
  return {
    SYNC: 'SYNC pull-all.sh',
    ENV_CHECK: 'ENV_CHECK required variables',
    WORKTREE: `WORKTREE ${runId} from origin/main`,
    PIN_UPDATE: 'PIN_UPDATE omninode-claude >=0.3.0,<0.5.0 → 0.4.0, omniintelligence 0.6.0 → 0.8.0',
    DEPLOY: 'DEPLOY deploy-runtime.sh',
    INFISICAL: 'INFISICAL seed secrets',
    VERIFY: 'VERIFY omninode-claude==0.4.0, omniintelligence==0.8.0',
    NOTIFY: 'NOTIFY run outcome',
  };
}

/** The rendered current-details phase table (an iframe titled "output"), as "PHASE" → [cell 1, cell 2]. */
async function phaseTable(details: FrameLocator): Promise<Record<string, [string, string]>> {
  await details.getByRole('cell').first().waitFor({ timeout: UI_TIMEOUT });
  const table: Record<string, [string, string]> = {};
  for (const row of await details.getByRole('row').all()) {
    const [phase = '', status = ''] = (await row.getByRole('cell').allInnerTexts()).map(squash);
    const name = phase.split(' ').pop();
    if (name) table[name] = [phase, status];
  }
  return table;
}

/**
 * Opens the runs list filtered by `query` and waits until `present` is listed; visibility is eventually
 * consistent, so it reloads a few times. Returns its status and how often `absent` is listed there.
 */
async function listRuns(page: Page, ui: string, query: string, present: string, absent: string) {
  const url = `${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`;
  for (let attempt = 1; ; attempt++) {
    await page.goto(url, { waitUntil: 'domcontentloaded' });
    try {
      await page
        .getByRole('link', { name: present, exact: true })
        .waitFor({ timeout: attempt === 1 ? UI_TIMEOUT : 5_000 });
      break;
    } catch (err) {
      if (attempt >= 5) {
        await screenshot(page, 'webui-list-failed.png', true);
        throw new Error(`${present} not listed for ${query} after ${attempt} loads of ${url}`, {
          cause: err,
        });
      }
    }
  }
  const row = page.getByRole('row').filter({ has: page.getByRole('link', { name: present, exact: true }) });
  return {
    // textContent, not innerText: UI 2.54 shows the status upper-cased by CSS (innerText follows it).
    status: squash((await row.getByText(/^\s*(Completed|Running)\s*$/i).textContent()) ?? ''),
    absentListed: await page.getByRole('link', { name: absent, exact: true }).count(),
  };
}

describe('the Temporal Web UI, as a person sees a redeploy', { concurrency: 1 }, () => {
  if (skipWithoutChromium()) return;

  let ui: string;
  let stopServer: (() => Promise<void>) | undefined;
  let h: Harness | undefined;
  let completedId: string;
  let waiting: WorkflowHandle | undefined;
  let browser: Browser | undefined;
  let context: BrowserContext;

  before(async () => {
    ({ ui, stop: stopServer } = await uiServer());
    h = await createHarness('webui');
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    const [launched, completed] = await Promise.all([
      launchChromium(),
      (async () => {
        const handle = await h.start();
        const state = (await handle.result()) as RedeployState;
        assert.equal(state.status, 'completed');
        return handle.workflowId;
      })(),
    ]);
    browser = launched;
    completedId = completed;
    await h.sb.setFault('deploy', { exitCode: 1, message: 'boom' });
    waiting = await h.start();
    await waitForState(waiting, waitingOn('DEPLOY'));
    context = await uiContext(browser);
  });

  after(async () => {
    await browser?.close();
    await waiting?.terminate('webui test done').catch(() => undefined);
    await h?.sb.clearFault('deploy');
    await h?.close();
    await stopServer?.();
  });

  it("shows the eight phase activities with their summaries in the completed run's history", async () => {
    const page = await context.newPage();
    await openRunPage(page, ui, completedId);
    await historyTab(page);
    const summaries = expectedSummaries(completedId);
    // The event table: one "Activity Task Scheduled" row per phase, its Summary field showing the summary.
    const scheduled = page.getByRole('row').filter({ hasText: 'Activity Task Scheduled' });
    for (const phase of PHASES) {
      const chip = scheduled.getByText(summaries[phase], { exact: true });
      await chip.waitFor();
      assert.equal(await chip.count(), 1, `${phase}: one scheduled activity showing "${summaries[phase]}"`);
    }
    assert.equal(await scheduled.count(), PHASES.length, 'one activity per phase, none retried');
    // The timeline (above it on UI 2.42, its own tab on 2.54) labels each activity "<activity type> • <summary>".
    for (const phase of PHASES) {
      const label = await timelineLabels(page, ui, summaries[phase]);
      await label.first().waitFor();
      assert.equal(await label.count(), 1, `${phase} in the timeline`);
    }
    await screenshot(page, 'webui-run.png');
    await page.close();
  });

  it("shows the summaries and the markdown phase table on the completed run's User Metadata tab", async () => {
    const page = await context.newPage();
    const details = await openUserMetadata(page, ui, completedId);
    await details.getByText(`${completedId} — completed`).waitFor();
    assert.deepEqual(await phaseTable(details), {
      SYNC: ['✔ SYNC', 'completed'],
      ENV_CHECK: ['✔ ENV_CHECK', 'completed'],
      WORKTREE: ['✔ WORKTREE', 'completed'],
      PIN_UPDATE: ['✔ PIN_UPDATE', 'completed'],
      DEPLOY: ['✔ DEPLOY', 'completed'],
      INFISICAL: ['⤼ INFISICAL', 'skipped_no_infisical'],
      VERIFY: ['✔ VERIFY', 'completed'],
      NOTIFY: ['✔ NOTIFY', 'completed'],
    });
    await details.getByText('Versions: omninode-claude==0.4.0, omniintelligence==0.8.0').waitFor();
    await screenshot(page, 'webui-run-details.png', true);
    // Last: reading an event's status may leave the tab (2.54 shows it on the Timeline).
    const summaries = expectedSummaries(completedId);
    for (const phase of PHASES)
      assert.equal(await eventStatus(page, ui, summaries[phase]), 'Completed', `${phase} completed`);
    await page.close();
  });

  it("shows the waiting run's failed DEPLOY and the pending decision in its current details", async () => {
    assert.ok(waiting);
    const page = await context.newPage();
    const details = await openUserMetadata(page, ui, waiting.workflowId);
    await details.getByText(`${waiting.workflowId} — waiting_for_decision (DEPLOY)`).waitFor();
    const table = await phaseTable(details);
    assert.deepEqual(table['PIN_UPDATE'], ['✔ PIN_UPDATE', 'completed']);
    assert.deepEqual(table['DEPLOY'], ['✖ DEPLOY', 'failed']);
    assert.deepEqual(table['VERIFY'], ['· VERIFY', 'pending']);
    await details.getByText('DEPLOY failed — the run waits for your decision').waitFor();
    await screenshot(page, 'webui-waiting.png', true);
    assert.equal(await eventStatus(page, ui, 'DEPLOY deploy-runtime.sh'), 'Failed');
    await page.close();
  });

  it('shows a run queued behind the waiting one, naming it, in its current details', async () => {
    assert.ok(waiting && h);
    const queued = await h.start();
    try {
      await waitForState(queued, (s) => s.status === 'waiting_for_target');
      const page = await context.newPage();
      const details = await openUserMetadata(page, ui, queued.workflowId);
      await details.getByText(`${queued.workflowId} — waiting_for_target`).waitFor();
      const line = details.getByText(`waiting for ${waiting.workflowId} (started by test@sandbox at `);
      await line.waitFor();
      assert.match(await line.innerText(), /at \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);
      assert.deepEqual((await phaseTable(details))['SYNC'], ['· SYNC', 'pending'], 'nothing ran');
      await screenshot(page, 'webui-queued.png', true);
      await page.close();
    } finally {
      await queued.terminate('webui test done').catch(() => undefined);
    }
  });

  it('lists runs by the RedeployPhase search attribute', async () => {
    assert.ok(waiting);
    const page = await context.newPage();
    const done = await listRuns(page, ui, 'RedeployPhase="COMPLETED"', completedId, waiting.workflowId);
    assert.deepEqual(done, { status: 'Completed', absentListed: 0 });
    await page.getByRole('button', { name: /RedeployPhase\s*=\s*"COMPLETED"/ }).waitFor();
    await screenshot(page, 'webui-list.png');

    // A failed phase waiting for a decision is `<PHASE> waiting` (issue 20).
    const inDeploy = await listRuns(
      page,
      ui,
      'RedeployPhase="DEPLOY waiting"',
      waiting.workflowId,
      completedId,
    );
    assert.deepEqual(inDeploy, { status: 'Running', absentListed: 0 });
    await screenshot(page, 'webui-list-deploy.png');
    await page.close();
  });
});
