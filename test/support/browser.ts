import fs from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { findTemporalCli } from '../../src/io/temporal-cli.js';
import { startDevServer } from '../../src/io/dev-server.js';

/** Debian's chromium (`apt-get install chromium`); .ci/run installs it. */
export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or undefined when they can. */
export function chromiumMissing(): string | undefined {
  if (fs.existsSync(CHROMIUM_PATH)) return undefined;
  return `${CHROMIUM_PATH} not found: install it with \`apt-get install chromium\` (CI does)`;
}

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-quic',
      '--no-first-run',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/**
 * The Temporal Web UI base URL. `npm test` passes the shared dev server's UI; a test file run on its own
 * starts a dev server here and points test/support/temporal.ts at it (before anything connects).
 */
export async function temporalUi(): Promise<{ ui: string; stop?: () => Promise<void> }> {
  const ui = process.env['REDEPLOY_TEST_TEMPORAL_UI'];
  if (ui) return { ui: ui.replace(/\/+$/, '') };
  if (process.env['REDEPLOY_TEST_TEMPORAL_ADDRESS']) {
    throw new Error(
      'REDEPLOY_TEST_TEMPORAL_ADDRESS is set but REDEPLOY_TEST_TEMPORAL_UI is not: the Web UI of that ' +
        'server is unknown. Run through scripts/run-tests.mjs, set both, or set neither.',
    );
  }
  const cli = process.env['REDEPLOY_TEST_TEMPORAL_CLI'] ?? (await findTemporalCli());
  const server = await startDevServer({ cli });
  process.env['REDEPLOY_TEST_TEMPORAL_ADDRESS'] = server.address;
  return { ui: server.uiUrl, stop: () => server.stop() };
}

/** test-artifacts/ at the repository root (gitignored); the compiled file lives in dist/test/support/. */
export const ARTIFACTS_DIR = new URL('../../../test-artifacts/', import.meta.url).pathname;

export async function screenshot(page: Page, name: string, fullPage = false): Promise<string> {
  await fs.promises.mkdir(ARTIFACTS_DIR, { recursive: true });
  const file = path.join(ARTIFACTS_DIR, name);
  await page.screenshot({ path: file, fullPage });
  return file;
}
