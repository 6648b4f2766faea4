import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentPins, findPins, previousPin, rewritePins, unifiedDiff } from '../../src/core/pins.js';

const DOCKERFILE = `FROM python:3.12-slim
# omniintelligence==0.1.0 (old pin, keep)
ENV OMNI=1
RUN uv pip install --system \\
    "omninode-claude>=0.3.0,<0.5.0" \\
    "omninode-memory>=0.9.0,<2.0.0" \\
    omniintelligence==0.6.0 \\
    # a comment inside the continuation
    "omnibase-core[extra]==1.2.0" \\
    -r requirements.txt \\
    omnibase_spi>=0.4.0
RUN echo omninode-claude==9.9.9 && pip install omniweb==0.1.0
COPY omninode-claude /app
`;

describe('pin rewrite', () => {
  it('rewrites quoted and bare, exact and range pins, keeping quotes and extras', () => {
    const r = rewritePins(DOCKERFILE, {
      'omninode-claude': '0.4.0',
      omniintelligence: '0.8.0',
      'omnibase-core': '1.3.0',
      'omnibase-spi': '0.5.0',
    });
    assert.deepEqual(r.unmatched, []);
    assert.ok(r.text.includes('    "omninode-claude==0.4.0" \\\n'));
    assert.ok(r.text.includes('    omniintelligence==0.8.0 \\\n'));
    assert.ok(r.text.includes('    "omnibase-core[extra]==1.3.0" \\\n'));
    assert.ok(
      r.text.endsWith(
        '    omnibase_spi==0.5.0\nRUN echo omninode-claude==9.9.9 && pip install omniweb==0.1.0\nCOPY omninode-claude /app\n',
      ),
    );
    assert.deepEqual(r.report, {
      'omninode-claude': { from: '>=0.3.0,<0.5.0', to: '0.4.0', matched: true },
      omniintelligence: { from: '0.6.0', to: '0.8.0', matched: true },
      'omnibase-core': { from: '1.2.0', to: '1.3.0', matched: true },
      'omnibase-spi': { from: '>=0.4.0', to: '0.5.0', matched: true },
    });
  });

  it('leaves comments, other commands and non-pip lines untouched', () => {
    const r = rewritePins(DOCKERFILE, { omniintelligence: '0.8.0', 'omninode-claude': '0.4.0' });
    assert.ok(r.text.includes('# omniintelligence==0.1.0 (old pin, keep)'));
    assert.ok(r.text.includes('RUN echo omninode-claude==9.9.9 &&'), 'echo argument is not a requirement');
    assert.ok(r.text.includes('COPY omninode-claude /app'));
    const lines = (s: string) => s.split('\n');
    const changed = lines(r.text).filter((l, i) => l !== lines(DOCKERFILE)[i]);
    assert.equal(changed.length, 2);
  });

  it('finds requirements after a second pip install in the same RUN', () => {
    const r = rewritePins(DOCKERFILE, { omniweb: '0.2.0' });
    assert.ok(r.text.includes('pip install omniweb==0.2.0'));
  });

  it('reports an unmatched package and changes nothing', () => {
    const r = rewritePins(DOCKERFILE, { 'omninode-claude': '0.4.0', 'omni-nothing': '1.0.0' });
    assert.deepEqual(r.unmatched, ['omni-nothing']);
    assert.deepEqual(r.report['omni-nothing'], { from: '', to: '1.0.0', matched: false });
  });

  it('is idempotent: re-applying the same versions changes nothing', () => {
    const once = rewritePins(DOCKERFILE, { 'omninode-claude': '0.4.0' });
    const twice = rewritePins(once.text, { 'omninode-claude': '0.4.0' });
    assert.equal(once.changed, true);
    assert.equal(twice.changed, false);
    assert.equal(twice.text, once.text);
    assert.equal(twice.report['omninode-claude']?.from, '0.4.0');
  });

  it('matches names after PEP 503 normalisation', () => {
    const r = rewritePins(DOCKERFILE, { Omninode_Memory: '1.0.0' });
    assert.ok(r.text.includes('"omninode-memory==1.0.0"'));
    assert.deepEqual(currentPins(DOCKERFILE, ['omnibase.spi']), { 'omnibase.spi': '>=0.4.0' });
  });

  it('does not take option values for requirements', () => {
    const names = findPins(DOCKERFILE).map((p) => p.name);
    assert.ok(!names.includes('requirements.txt'));
    assert.ok(!names.includes('uv'));
  });

  it('renders a unified diff of the change', () => {
    const r = rewritePins(DOCKERFILE, { omniintelligence: '0.8.0' });
    const diff = unifiedDiff(DOCKERFILE, r.text, 'docker/Dockerfile.runtime');
    assert.match(
      diff,
      /^--- a\/docker\/Dockerfile.runtime\n\+\+\+ b\/docker\/Dockerfile.runtime\n@@ -5,5 \+5,5 @@/,
    );
    assert.ok(diff.includes('\n-    omniintelligence==0.6.0 \\\n+    omniintelligence==0.8.0 \\'));
    assert.equal(unifiedDiff(DOCKERFILE, DOCKERFILE, 'x'), '');
  });

  it('restore writes the reported `from`s back: a rewrite and its restore give the text it started with', () => {
    const versions = { 'omninode-claude': '0.4.0', 'omninode-memory': '1.0.0', omniintelligence: '0.8.0' };
    const forward = rewritePins(DOCKERFILE, versions);
    const from = Object.fromEntries(Object.entries(forward.report).map(([k, c]) => [k, c.from]));
    assert.deepEqual(from, {
      'omninode-claude': '>=0.3.0,<0.5.0',
      'omninode-memory': '>=0.9.0,<2.0.0',
      omniintelligence: '0.6.0',
    });
    const back = rewritePins(forward.text, from, { restore: true });
    assert.equal(back.text, DOCKERFILE);
  });

  it('previousPin prefers what WORKTREE found, skips what equals the request', () => {
    assert.equal(previousPin('0.3.0', '0.4.0', '0.4.0'), '0.3.0');
    assert.equal(previousPin('0.4.0', '0.4.0', '0.4.0'), undefined, 'nothing changed');
    assert.equal(previousPin('0.4.0', '0.3.0', '0.4.0'), '0.3.0', 'a reused worktree already edited');
    assert.equal(previousPin(undefined, 'unpinned', '0.4.0'), 'unpinned');
  });
});
