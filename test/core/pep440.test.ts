// PEP 440 order and specifier-set admission, checked case by case against Python's `packaging` (the
// library pip's resolver logic comes from): one python3 call answers every case, and ours must agree.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  admits,
  compareVersions,
  parseSpecifierSet,
  parseVersion,
  sortVersionsDescending,
} from '../../src/core/pep440.js';

const SPECS = [
  '>=0.9.0,<2.0.0',
  '>=0.3.0,<0.5.0',
  '~=1.2',
  '~=1.2.3',
  '!=1.3.*',
  '==1.2.*',
  '==1.2',
  '===1.2.0',
  '<2.0',
  '>1.0',
  '>=1.0rc1',
  '<=1.0',
  '==1.0+local',
  '!=1.0',
  '',
  '>=1!0.5',
];
const VERSIONS = [
  '0.9.0',
  '0.24.0',
  '2.0.0',
  '2.0rc1',
  '1.0',
  '1.0.0',
  '1.0rc1',
  '1.0.post1',
  '1.0+local',
  '1.0.dev0',
  '1.2',
  '1.2.0',
  '1.2.3',
  '1.2.9',
  '1.3.0',
  '1.3.5',
  '1.4',
  '0.4.0',
  '0.5.0',
  '0.4.9',
  '1!0.6',
  '1.1a1',
];

function packaging(): Record<string, boolean> {
  const script = `
import json, sys
from packaging.specifiers import SpecifierSet
specs, versions = json.loads(sys.stdin.read())
print(json.dumps({f"{s}|{v}": SpecifierSet(s).contains(v) for s in specs for v in versions}))
`;
  const out = execFileSync('python3', ['-c', script], { input: JSON.stringify([SPECS, VERSIONS]) });
  return JSON.parse(out.toString()) as Record<string, boolean>;
}

describe('PEP 440', () => {
  it('specifier-set admission agrees with packaging on every case', () => {
    const expected = packaging();
    const wrong: string[] = [];
    for (const s of SPECS) {
      const set = parseSpecifierSet(s);
      assert.ok(set.ok, s);
      for (const v of VERSIONS) {
        const ours = set.ok && admits(set.set, v);
        if (ours !== expected[`${s}|${v}`])
          wrong.push(`${s || '(empty)'} ${v}: ours ${ours}, packaging ${expected[`${s}|${v}`]}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('orders final after its pre-releases and before its post-releases', () => {
    assert.deepEqual(
      sortVersionsDescending(['1.0.0rc1', '1.0.0', '0.9.0', '1.0.0.post1', '1.0.0.dev1', 'x']),
      ['1.0.0.post1', '1.0.0', '1.0.0rc1', '1.0.0.dev1', '0.9.0', 'x'],
    );
    const v = (t: string) => parseVersion(t)!;
    assert.equal(compareVersions(v('0.25.0'), v('0.9.0')), 1, 'numeric, not lexical');
    assert.equal(compareVersions(v('1.0'), v('1.0.0')), 0);
  });

  it('refuses what is not a specifier set, saying why', () => {
    for (const [s, why] of [
      ['>=1.0;', /not a version specifier/],
      ['~=1', /two release segments/],
      ['>=1.*', /only == and !=/],
      ['==abc', /not a PEP 440 version/],
    ] as const) {
      const r = parseSpecifierSet(s);
      assert.equal(r.ok, false, s);
      if (!r.ok) assert.match(r.why, why);
    }
  });
});
