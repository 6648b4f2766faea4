import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  decidePinPolicy,
  mismatchLine,
  planPins,
  promotedLane,
  refusalMessage,
  revisionProves,
} from '../../src/core/pin-policy.js';

const DOCKERFILE = [
  'RUN uv-with-retry pip install --no-deps \\',
  '    "omninode-claude>=0.9.0,<2.0.0" \\',
  '    "omninode-memory[extra]~=1.2 ; python_version >= \'3.12\'" \\',
  '    omninode-intelligence==0.6.*',
  '',
].join('\n');

// The lines of today's deploy-runtime.sh that decide the guard (read from omnibase_infra 7aef2f6).
const TODAY_SCRIPT = `PROD_LANE=false
if [[ "\${ONEX_DEPLOY_LANE:-}" == "prod" ]]; then
    PROD_LANE=true
fi
guard_prod_promotion_lineage() {
    local guard="\${repo_root}/scripts/check_prod_promotion_lineage.py"
}`;

describe('pin policy', () => {
  it('promoted lanes: prod always; another lane only when the script runs the guard for it', () => {
    assert.equal(promotedLane('prod', undefined).promoted, true);
    assert.equal(promotedLane('dev', TODAY_SCRIPT).promoted, false);
    const judge = TODAY_SCRIPT.replace('"prod"', '"judge"');
    assert.equal(promotedLane('judge', judge).promoted, true);
    assert.match(promotedLane('judge', judge).why, /check_prod_promotion_lineage/);
    assert.equal(promotedLane('judge', judge.replace(/check_prod_promotion_lineage/g, 'x')).promoted, false);
  });

  it('defaults by lane; flag over env; edit or another ref on a promoted lane refused', () => {
    const prod = promotedLane('prod', TODAY_SCRIPT);
    const dev = promotedLane('dev', TODAY_SCRIPT);
    const base = { flag: undefined, env: undefined, ref: 'main' };
    assert.equal(decidePinPolicy({ ...base, lane: 'prod', promoted: prod }).policy, 'admit');
    assert.equal(decidePinPolicy({ ...base, lane: 'dev', promoted: dev }).policy, 'edit');
    assert.equal(decidePinPolicy({ ...base, env: 'admit', lane: 'dev', promoted: dev }).policy, 'admit');
    const both = decidePinPolicy({ ...base, flag: 'edit', env: 'admit', lane: 'dev', promoted: dev });
    assert.deepEqual([both.policy, both.source], ['edit', '--pin-policy']);
    assert.match(
      decidePinPolicy({ ...base, flag: 'edit', lane: 'prod', promoted: prod }).problems.join(),
      /--pin-policy edit on lane prod/,
    );
    assert.match(
      decidePinPolicy({ ...base, ref: 'dev', lane: 'prod', promoted: prod }).problems.join(),
      /--ref dev on lane prod/,
    );
    assert.match(
      decidePinPolicy({ ...base, env: 'bogus', lane: 'dev', promoted: dev }).problems.join(),
      /REDEPLOY_PIN_POLICY "bogus" is not a pin policy/,
    );
  });

  it('admit: specifier sets with extras and markers, wildcards; the text is never changed', () => {
    const ok = planPins(
      DOCKERFILE,
      { 'omninode-claude': '0.25.0', 'omninode-memory': '1.9', 'omninode-intelligence': '0.6.3' },
      'admit',
    );
    assert.equal(ok.text, DOCKERFILE);
    assert.deepEqual(ok.refused, []);
    assert.equal(ok.report['omninode-memory']?.from_raw, '~=1.2');
    const bad = planPins(DOCKERFILE, { 'omninode-claude': '2.0.0', 'omninode-memory': '2.0' }, 'admit');
    assert.deepEqual(
      bad.refused.map((v) => v.package),
      ['omninode-claude', 'omninode-memory'],
    );
    const message = refusalMessage(bad.refused, 'main', new Set(['automation/pin-omninode-claude-v2.0.0']));
    assert.match(
      message,
      /omninode-claude 2\.0\.0 is not admitted by origin\/main's specifier ">=0\.9\.0,<2\.0\.0"; origin has automation\/pin-omninode-claude-v2\.0\.0/,
    );
    assert.match(
      message,
      /omninode-memory 2\.0 .*"~=1\.2"; land a pin or range that admits 2\.0 on main first/,
    );
  });

  it('edit: ranges become ==version, each change marked edited', () => {
    const r = planPins(DOCKERFILE, { 'omninode-claude': '0.25.0' }, 'edit');
    assert.match(r.text, /"omninode-claude==0\.25\.0"/);
    assert.deepEqual(r.report['omninode-claude'], {
      from: '>=0.9.0,<2.0.0',
      from_raw: '>=0.9.0,<2.0.0',
      from_raw_hits: ['>=0.9.0,<2.0.0'],
      to: '0.25.0',
      matched: true,
      action: 'edited',
    });
  });

  it('image revision: a 12-character label proves its commit; sentinels and other commits do not', () => {
    const sha = 'abcdef0123456789abcdef0123456789abcdef01';
    assert.equal(revisionProves('abcdef012345', sha).ok, true);
    assert.equal(revisionProves(sha, sha).ok, true);
    assert.match(revisionProves('unknown', sha).why, /no real org\.opencontainers\.image\.revision/);
    assert.match(revisionProves('<no value>', sha).why, /no real/);
    assert.match(revisionProves('123456789abc', sha).why, /not the deployed commit abcdef012345/);
    assert.equal(revisionProves('abcdef012345', null).ok, false);
  });

  it('a range that resolved elsewhere is said so', () => {
    assert.equal(
      mismatchLine('omninode-claude', '0.24.0', '0.25.0', '>=0.9.0,<2.0.0'),
      'omninode-claude: `>=0.9.0,<2.0.0` resolved to 0.25.0, not the requested 0.24.0',
    );
    assert.equal(mismatchLine('p', '1.0', '1.1', '==1.0'), 'p: expected 1.0, got 1.1');
  });

  it('edit: a package named only in a heredoc body is not rewritable, not unmatched (as PIN_UPDATE fails)', () => {
    const text = [
      'RUN pip install omniintelligence==0.6.0',
      'RUN <<EOF',
      'pip install "omninode-claude>=0.3.0"',
      'EOF',
      '',
    ].join('\n');
    const plan = planPins(text, { 'omninode-claude': '0.4.0', 'omni-ghost': '1.0.0' }, 'edit');
    assert.deepEqual(plan.unmatched, ['omni-ghost']);
    assert.deepEqual(Object.keys(plan.notRewritable), ['omninode-claude']);
    assert.match(plan.notRewritable['omninode-claude'] ?? '', /named in a heredoc body/);
    assert.equal(plan.text, text);
  });
});
