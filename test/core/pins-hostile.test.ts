// Issue 21 item 4: pip options that take a package name, heredoc bodies, every place's bytes, and the
// rollback's proof against origin's Dockerfile.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { currentSpecifierHits, findPins, rewritePins, rollbackDifferences } from '../../src/core/pins.js';

describe('pins: options that take a value', () => {
  for (const option of ['--no-binary', '--only-binary', '--upgrade-package', '--reinstall-package', '-P']) {
    it(`${option} <pkg> is the option's value, not an unpinned requirement`, () => {
      const text = `RUN uv pip install ${option} omninode-claude "omninode-claude>=0.3.0,<0.5.0" x==1\n`;
      const r = rewritePins(text, { 'omninode-claude': '0.4.0' });
      assert.equal(r.text, `RUN uv pip install ${option} omninode-claude "omninode-claude==0.4.0" x==1\n`);
      assert.equal(r.report['omninode-claude']?.from_raw, '>=0.3.0,<0.5.0');
      assert.deepEqual(r.report['omninode-claude']?.from_raw_hits, ['>=0.3.0,<0.5.0']);
    });
  }

  it('an option of unknown arity takes a bare name as its value; a flag without value does not', () => {
    assert.deepEqual(
      findPins('RUN pip install --frobnicate omninode-claude\n').map((p) => p.name),
      [],
    );
    assert.deepEqual(
      findPins('RUN pip install --no-deps omninode-claude\n').map((p) => p.name),
      ['omninode-claude'],
    );
    assert.deepEqual(
      findPins('RUN pip install --no-binary=omninode-claude omninode-claude==1\n').map((p) => p.specifier),
      ['==1'],
    );
  });
});

describe('pins: heredocs', () => {
  it('a requested package in a RUN heredoc body is refused, nothing rewritten', () => {
    const text = 'FROM x\nRUN <<EOF\npip install omninode-claude==0.3.0\nEOF\nRUN pip install omniweb==1\n';
    const r = rewritePins(text, { 'omninode-claude': '0.4.0' });
    assert.equal(r.text, text);
    assert.match(r.refused['omninode-claude'] ?? '', /heredoc body \(line 3\)/);
    assert.deepEqual(r.unmatched, []);
  });

  it('a COPY heredoc body is file content: a RUN line inside is never a pin, and its package is refused', () => {
    const text =
      'COPY <<-"REQS" /app/requirements.txt\n\tRUN pip install omninode_claude==0.3.0\n\tREQS\nRUN pip install omninode-claude==0.3.0\n';
    assert.equal(findPins(text).length, 1, 'only the real RUN line');
    const r = rewritePins(text, { 'omninode-claude': '0.4.0' });
    assert.equal(r.text, text);
    assert.ok(r.refused['omninode-claude']);
  });

  it('a heredoc that names another package does not stop the rewrite; lines after its end are read', () => {
    const text = 'COPY <<EOF /etc/motd\nhello omniweb\nEOF\nRUN pip install omninode-claude==0.3.0\n';
    const r = rewritePins(text, { 'omninode-claude': '0.4.0' });
    assert.deepEqual(r.refused, {});
    assert.equal(r.text, text.replace('==0.3.0', '==0.4.0'));
  });
});

describe('pins: every place, and the rollback proof', () => {
  const origin =
    'RUN pip install "omninode-claude>=0.3,<0.5"\nRUN pip install --no-deps omninode-claude===0.3.1\n';

  it("records every place's bytes and restores each place to its own", () => {
    const applied = rewritePins(origin, { 'omninode-claude': '0.4.0' });
    assert.deepEqual(applied.report['omninode-claude']?.from_raw_hits, ['>=0.3,<0.5', '===0.3.1']);
    assert.deepEqual(currentSpecifierHits(origin, ['omninode-claude']), {
      'omninode-claude': ['>=0.3,<0.5', '===0.3.1'],
    });
    const hits = { 'omninode-claude': ['>=0.3,<0.5', '===0.3.1'] };
    const back = rewritePins(
      applied.text,
      { 'omninode-claude': '>=0.3,<0.5' },
      { restore: true, restoreHits: hits },
    );
    assert.equal(back.text, origin);
    assert.deepEqual(rollbackDifferences(origin, back.text, hits), []);
  });

  it('a record of the first place only (the old bug) cannot prove the rollback: it differs', () => {
    const applied = rewritePins(origin, { 'omninode-claude': '0.4.0' }).text;
    const oldRecord = { 'omninode-claude': ['>=0.3,<0.5'] };
    const back = rewritePins(applied, { 'omninode-claude': '>=0.3,<0.5' }, { restore: true });
    assert.notEqual(back.text, origin, 'writing the first bytes everywhere loses ===0.3.1');
    assert.match(
      rollbackDifferences(origin, back.text, oldRecord).join(),
      /2 place\(s\) in origin's Dockerfile, 1 recorded/,
    );
    const refused = rewritePins(
      applied,
      { 'omninode-claude': '>=0.3,<0.5' },
      { restore: true, restoreHits: oldRecord },
    );
    assert.match(refused.refused['omninode-claude'] ?? '', /2 place\(s\) in the Dockerfile, but 1 recorded/);
  });

  it('any other difference from origin (an edited line) is reported with the line', () => {
    const hits = { 'omninode-claude': ['>=0.3,<0.5', '===0.3.1'] };
    const tampered = origin.replace('--no-deps', '--no-deps --index-url http://evil');
    assert.match(rollbackDifferences(origin, tampered, hits).join(), /line 2: expected/);
  });
});
