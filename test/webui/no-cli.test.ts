import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import type { RedeployState } from '../../src/core/state.js';
import { freePort } from '../../src/io/dev-server.js';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { redeploy } from '../support/cli.js';
import { activityRuns, createHarness, type Harness } from '../support/harness.js';
import { launchChromium, screenshot } from '../support/browser.js';
import { temporalCli } from '../support/temporal.js';
import {
  openRunPage,
  openUserMetadata,
  runFailureShown,
  skipWithoutChromium,
  squash,
  uiContext,
} from '../support/webui-pages.js';
import { chooseDecide, submitData } from '../support/webui-decide.js';

/**
 * Issue 20: the Web UI as the console with nothing attached. Zero-setup mode (no TEMPORAL_ADDRESS): the
 * CLI starts the background dev server and its supervised worker, and exits when DEPLOY fails; a person
 * then decides in the browser, and the host's legacy state file follows the run (the worker writes it).
 */
const VERSIONS_ARG = 'omninode-claude=0.4.0,omniintelligence=0.8.0';
const PRE_DEPLOY = ['SYNC', 'ENV_CHECK', 'WORKTREE', 'PIN_UPDATE'] as const;

describe('deciding in the Web UI with no CLI attached (zero-setup mode)', { concurrency: 1 }, () => {
  if (skipWithoutChromium()) return;
  let h: Harness;
  let env: Record<string, string>;
  let ui: string;
  let browser: Browser | undefined;
  let context: BrowserContext;

  before(async () => {
    h = await createHarness('webui-no-cli', { worker: false });
    await h.sb.writeEnvFile({
      ...DEFAULT_ENV,
      ONEX_TIER: 'FULL_ONEX',
      SLACK_BOT_TOKEN: h.sb.slack.token,
      SLACK_CHANNEL_ID: h.sb.slack.channel,
    });
    const { TEMPORAL_ADDRESS: _configured, ...rest } = h.vars;
    const uiPort = await freePort();
    env = {
      ...rest,
      TEMPORAL_CLI: await temporalCli(),
      REDEPLOY_EMBEDDED_PORT: String(await freePort()),
      REDEPLOY_EMBEDDED_UI_PORT: String(uiPort),
    };
    ui = `http://127.0.0.1:${uiPort}`;
    browser = await launchChromium();
    context = await uiContext(browser);
  });
  after(async () => {
    await browser?.close();
    await redeploy(['server', '--stop'], env);
    await h?.sb.clearFault('deploy');
    await h?.close();
  });

  const stateFile = (id: string) => path.join(h.sb.stateDir, `${id}.json`);
  const readState = async (id: string) =>
    JSON.parse(await fs.readFile(stateFile(id), 'utf8').catch(() => 'null')) as RedeployState | null;
  /** Polls the legacy state file (nothing else: no CLI, no query) until `done` holds. */
  async function fileUntil(id: string, done: (s: RedeployState) => boolean, timeoutMs = 120_000) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = await readState(id);
      if (s && done(s)) return s;
      if (Date.now() > deadline) throw new Error(`state file of ${id}: ${JSON.stringify(s, null, 2)}`);
      await sleep(250);
    }
  }

  /** `redeploy --versions …` in the foreground until DEPLOY fails: the CLI exits 1, the run waits. */
  async function runUntilDeployFails(versions: string): Promise<string> {
    await h.sb.setFault('deploy', { exitCode: 1, message: 'compose build failed: no space left on device' });
    const posted = h.sb.slack.requests.length;
    const r = await redeploy(['--versions', versions], env);
    assert.equal(r.exitCode, 1, r.stdout + r.stderr);
    const id = /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(r.stdout)?.[1] ?? '';
    assert.ok(id, r.stdout);
    const waiting = await fileUntil(id, (s) => s.status === 'waiting_for_decision');
    assert.equal(waiting.pending_decision?.phase, 'DEPLOY');
    // The failure alert went out when DEPLOY failed, not when some CLI attached later.
    const deadline = Date.now() + 30_000;
    while (!h.sb.slack.requests.slice(posted).some((q) => /DEPLOY/.test(JSON.stringify(q.body)))) {
      assert.ok(Date.now() < deadline, 'the DEPLOY failure alert was posted with no CLI attached');
      await sleep(200);
    }
    return id;
  }

  const openRun = (page: Page, id: string) => openRunPage(page, ui, id);

  async function assertRetried(id: string, by: string) {
    const final = await fileUntil(id, (s) => s.status !== 'waiting_for_decision' && s.status !== 'running');
    assert.equal(final.status, 'completed', JSON.stringify(final, null, 2));
    for (const phase of PRE_DEPLOY) {
      assert.equal(final.phases[phase].status, 'completed');
      assert.equal(await activityRuns(h, id, phase), 1, `${phase} ran once`);
    }
    assert.equal(await activityRuns(h, id, 'DEPLOY'), 2, 'DEPLOY ran again, once');
    assert.deepEqual(
      final.decisions.map(({ phase, action, by: who }) => ({ phase, action, by: who })),
      [{ phase: 'DEPLOY', action: 'retry', by }],
    );
    // What was deployed: the state file's pins, and the versions the runtime stand-in runs.
    assert.deepEqual(final.pins_applied, { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' });
    const deployed = await h.sb.deployedPins();
    assert.deepEqual([deployed['omninode-claude'], deployed['omniintelligence']], ['0.4.0', '0.8.0']);
  }

  it('a waiting run shows `DEPLOY waiting` (runs list, redeploy list, run page); a retry from the Update dialog completes it and the state file shows it', async () => {
    const id = await runUntilDeployFails(VERSIONS_ARG);
    const page = await context.newPage();

    // Waiting is visible: the runs list filtered by the search attribute value…
    const query = `RedeployPhase="DEPLOY waiting"`;
    for (let attempt = 1; ; attempt++) {
      await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(query)}`, {
        waitUntil: 'domcontentloaded',
      });
      try {
        await page.getByRole('link', { name: id, exact: true }).waitFor({ timeout: 10_000 });
        break;
      } catch (err) {
        if (attempt >= 5) throw err;
      }
    }
    await screenshot(page, 'webui-list-waiting.png');
    // …`redeploy list` (read-only: no worker of its own)…
    const list = await redeploy(['list'], env);
    assert.match(list.stdout, new RegExp(`^${id} +running +DEPLOY waiting +\\d{4}-`, 'm'));
    // …and the run page, whose Current Details open with the failure and what to send.
    const details = await openUserMetadata(page, ui, id);
    await details.getByText('DEPLOY failed — the run waits for your decision').waitFor();
    await screenshot(page, 'webui-no-cli-waiting.png', true);
    await page.getByRole('tab', { name: /^Search Attributes/ }).click();
    await page.getByText('RedeployPhase').first().waitFor();
    await screenshot(page, 'webui-search-attribute-waiting.png');
    await page
      .getByText(/DEPLOY waiting/)
      .first()
      .waitFor();

    await h.sb.clearFault('deploy');
    await openRun(page, id);
    const { dialog, description } = await chooseDecide(page, 'Update', 'webui-no-cli-update-dropdown.png');
    // The dialog knows `decide` and its description: a worker is polling though no CLI is.
    assert.match(description, /^decide DEPLOY is waiting\./);
    await submitData(page, dialog, '{"action":"retry","phase":"DEPLOY","by":"alice"}');
    await dialog.waitFor({ state: 'hidden' });
    await assertRetried(id, 'alice');
    await openRun(page, id);
    await page.getByText('Completed').first().waitFor();
    await screenshot(page, 'webui-no-cli-completed.png');
    await page.close();
  });

  it('a retry from the Signal dialog completes a run whose CLI exited', async () => {
    const id = await runUntilDeployFails(VERSIONS_ARG);
    await h.sb.clearFault('deploy');
    const page = await context.newPage();
    await openRun(page, id);
    const { dialog } = await chooseDecide(page, 'Signal');
    await submitData(page, dialog, '{"action":"retry","phase":"DEPLOY","by":"carol"}');
    await dialog.waitFor({ state: 'hidden' });
    await assertRetried(id, 'carol');
    await page.close();
  });

  it('a skip, then an abort, from the Web UI: the state file ends aborted and nothing new was deployed', async () => {
    const before = await h.sb.deployedPins();
    // Not the versions deployed above: VERIFY must not find them running.
    const id = await runUntilDeployFails('omninode-claude=0.4.1,omniintelligence=0.8.1');
    await h.sb.clearFault('deploy');
    const page = await context.newPage();
    await openRun(page, id);
    const update = await chooseDecide(page, 'Update');
    await submitData(page, update.dialog, '{"action":"skip","phase":"DEPLOY","by":"bob","reason":"by hand"}');
    await update.dialog.waitFor({ state: 'hidden' });
    // Nothing was deployed, so VERIFY fails in turn; the state file says so without a CLI.
    const verify = await fileUntil(
      id,
      (s) => s.status === 'waiting_for_decision' && s.pending_decision?.phase === 'VERIFY',
    );
    assert.equal(verify.phases.DEPLOY.status, 'skipped_by_operator');
    await openRun(page, id);
    const signal = await chooseDecide(page, 'Signal');
    await submitData(page, signal.dialog, '{"action":"abort","phase":"VERIFY","by":"bob"}');
    await signal.dialog.waitFor({ state: 'hidden' });
    const final = await fileUntil(id, (s) => s.status === 'aborted');
    assert.equal(final.phases.DEPLOY.status, 'skipped_by_operator');
    assert.deepEqual(
      final.decisions.map(({ phase, action }) => `${action} ${phase}`),
      ['skip DEPLOY', 'abort VERIFY'],
    );
    assert.equal(await activityRuns(h, id, 'DEPLOY'), 1, 'DEPLOY was not run again');
    assert.deepEqual(await h.sb.deployedPins(), before, 'nothing new deployed');
    // The skill result, written by the worker at the end, says so too.
    const result = JSON.parse(
      await fs.readFile(path.join(h.sb.skillResultsDir, 'default', 'redeploy.json'), 'utf8'),
    ) as { run_id: string; status: string; run_status: string };
    assert.deepEqual([result.run_id, result.status, result.run_status], [id, 'failed', 'aborted']);
    await openRun(page, id);
    await runFailureShown(page, 'aborted by bob at VERIFY');
    assert.ok(squash(await page.getByTestId('workflow-id-heading').innerText()).includes(id));
    await page.close();
  });
});
