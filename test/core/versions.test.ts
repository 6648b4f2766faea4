import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  canonicalVersion,
  formatPins,
  formatVersions,
  normalizeName,
  parseVersions,
  sameVersion,
} from '../../src/core/versions.js';
import { ticketProblems } from '../../src/core/ticket.js';

describe('--versions parsing', () => {
  it('parses pkg=version pairs in order', () => {
    const r = parseVersions('omniintelligence=0.8.0, omninode-claude=0.4.0,omninode_memory=0.6.1rc1');
    assert.deepEqual(r, {
      ok: true,
      value: { omniintelligence: '0.8.0', 'omninode-claude': '0.4.0', omninode_memory: '0.6.1rc1' },
    });
    assert.equal(
      formatVersions(r.ok ? r.value : {}),
      'omniintelligence=0.8.0,omninode-claude=0.4.0,omninode_memory=0.6.1rc1',
    );
  });

  const bad: [string, RegExp][] = [
    ['', /empty/],
    ['omniclaude', /not of the form pkg=version/],
    ['a=1.0,,b=2.0', /empty entry/],
    ['a==1.0', /not of the form/],
    ['a=', /not of the form/],
    ['=1.0', /not of the form/],
    ['a=1.0; rm -rf /', /not a PEP 440 version/],
    ['a$(id)=1.0', /not a valid package name/],
    ['a=latest', /not a PEP 440 version/],
    ['omninode-claude=0.4.0,omninode_claude=0.5.0', /names omninode_claude twice/],
  ];
  for (const [input, message] of bad) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      const r = parseVersions(input);
      assert.equal(r.ok, false);
      if (!r.ok) assert.match(r.errors.join('\n'), message);
    });
  }

  it('reports every problem, not only the first', () => {
    const r = parseVersions('a=x,b=y');
    assert.equal(r.ok, false);
    if (!r.ok) assert.equal(r.errors.length, 2);
  });

  it('normalises names per PEP 503', () => {
    assert.equal(normalizeName('Omninode_Claude'), 'omninode-claude');
    assert.equal(normalizeName('a.-_b'), 'a-b');
  });
});

describe('worktree ticket', () => {
  it('accepts ref-safe single segments', () => {
    assert.deepEqual(ticketProblems('redeploy-20260301-abc123'), []);
    assert.deepEqual(ticketProblems('OMN-1234_hotfix.2'), []);
  });
  for (const [ticket, problem] of [
    ['a/b', /path separator/],
    ['..', /"\.\."/],
    ['-x', /starts with "-"/],
    ['.hidden', /starts with "\."/],
    ['x.lock', /\.lock/],
    ['a b', /space/],
    ['a~1', /~/],
    ['a@{1}', /@\{/],
    ['', /empty/],
  ] as const) {
    it(`rejects ${JSON.stringify(ticket)}`, () => assert.match(ticketProblems(ticket).join('; '), problem));
  }
});

describe('PEP 440 version equality', () => {
  it('treats spellings of one version as equal', () => {
    assert.ok(sameVersion('0.4', '0.4.0'));
    assert.ok(sameVersion('v1.0.0-RC1', '1.0.0rc1'));
    assert.ok(sameVersion('1.0-alpha.2', '1.0a2'));
    assert.ok(sameVersion('2.1.0-1', '2.1.0.post1'));
    assert.ok(sameVersion('1.0.dev0', '1.0dev'));
    assert.equal(canonicalVersion('0!1.2.0+Local-Build'), '1.2+local.build');
    assert.ok(sameVersion('1.0+01.build', '1.0+1-BUILD'), 'numeric local segments compare as numbers');
  });
  it('keeps different versions different', () => {
    assert.ok(!sameVersion('0.4.0', '0.4.1'));
    assert.ok(!sameVersion('1.0.0rc1', '1.0.0'));
    assert.ok(!sameVersion('1.0.0', '>=0.3.0,<0.5.0'));
    assert.ok(!sameVersion('1.0+1', '1.0'));
    assert.ok(!sameVersion('1.0+1', '1.0+10'));
  });
});

describe('formatPins', () => {
  it('prints name==version pairs in order, comma-separated, for display', () => {
    assert.equal(
      formatPins({ 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' }),
      'omninode-claude==0.4.0, omniintelligence==0.8.0',
    );
    assert.equal(formatPins({}), '');
  });
});
