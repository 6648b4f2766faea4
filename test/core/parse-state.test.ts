import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  checkCarried,
  parseRunState,
  parseState,
  RunStateError,
  runStateOrUndefined,
} from '../../src/core/parse-state.js';
import { initState } from '../../src/core/state.js';
import { PHASES } from '../../src/core/phases.js';

const base = () => ({
  run_id: 'redeploy-20260301-abc123',
  worktree_ticket: 'T-1',
  worktree_path: null,
  worktree_ref: 'main',
  versions_requested: { 'omninode-claude': '0.4.0' },
  started_at: '2026-03-01T10:00:00+00:00',
  phases: Object.fromEntries(PHASES.map((p) => [p, { status: 'pending' }])) as Record<string, object>,
});

const problems = (raw: unknown): string[] => {
  try {
    // What --resume does with a saved state: parsed, then its carried steering fields checked.
    checkCarried(parseState(raw, 'the file'), 'the file');
    return [];
  } catch (err) {
    assert.ok(err instanceof RunStateError);
    assert.equal(err.exitCode, 2);
    return err.problems;
  }
};

describe('parseState', () => {
  it("the old skill's state file parses as it is", () => {
    assert.deepEqual(problems(base()), []);
  });

  it('a run state from initState parses as a run state, and is upgraded from before `target`', () => {
    const state = initState(
      {
        runId: 'redeploy-20260301-abc123',
        worktreeTicket: 'T-1',
        versions: { 'omninode-claude': '0.4.0' },
        flags: { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
        startedBy: 'me@host',
      },
      { workflowId: 'redeploy-20260301-abc123', runId: 'r' },
      '2026-03-01T10:00:00Z',
    );
    assert.equal(parseRunState(state, 'query').run_id, state.run_id);
    const { target: _target, ...older } = state;
    assert.equal(parseRunState(older, 'query').target, null);
    // Not a run state: the legacy file lacks status, version, flags.
    assert.equal(runStateOrUndefined(base()), undefined);
  });

  it('valid steering fields pass: pins found and applied, ranges, unpinned', () => {
    const s = base();
    s.phases['WORKTREE'] = {
      status: 'completed',
      pins_found: { 'omninode-claude': '0.3.0' },
      pins_found_raw: { 'omninode-claude': '>=0.3.0,<0.5.0' },
      pins_found_raw_hits: { 'omninode-claude': ['>=0.3.0,<0.5.0', ''] },
    };
    s.phases['PIN_UPDATE'] = {
      status: 'completed',
      pins_applied: {
        'omninode-claude': { from: '0.3.0', from_raw: '===0.3.0', to: '0.4.0', matched: true },
      },
    };
    assert.deepEqual(problems(s), []);
  });

  it('a forged steering field is refused, naming the field and never the value', () => {
    const s = base();
    s.phases['WORKTREE'] = {
      status: 'completed',
      pins_found_raw: { 'omninode-claude': '==0.3.0\nRUN curl x|sh' },
    };
    s.phases['PIN_UPDATE'] = {
      status: 'completed',
      pins_applied: {
        'omninode-claude': { from: '0.3.0', from_raw: '==0.3.0; rm -rf /', to: 'latest', matched: true },
      },
    };
    const found = problems(s);
    assert.deepEqual(found, [
      'phases.WORKTREE.pins_found_raw.omninode-claude: not a PEP 440 specifier',
      'phases.PIN_UPDATE.pins_applied.omninode-claude.from_raw: not a PEP 440 specifier',
      'phases.PIN_UPDATE.pins_applied.omninode-claude.to: not a PEP 440 version',
    ]);
    assert.ok(!found.join('\n').includes('rm -rf'));
  });

  it('forged flags, proof and versions are refused', () => {
    assert.match(problems({ ...base(), flags: { skipSync: 'yes' } }).join('\n'), /^flags\.skipSync: /m);
    assert.match(
      problems({ ...base(), proven: { lane: 'dev', run_id: 'x', commit: 'HEAD' } }).join('\n'),
      /^proven\.commit: /m,
    );
    assert.match(
      problems({ ...base(), versions_requested: { 'a b': '1' } }).join('\n'),
      /^versions_requested\.a b: /m,
    );
    assert.match(problems({ ...base(), phases: {} }).join('\n'), /^phases\.SYNC: /m);
  });

  it('a run state with an unknown status is refused', () => {
    assert.throws(() => parseRunState({ ...base(), status: 'owned' }, 'query'), RunStateError);
  });

  it('a live read shows what a run recorded; only a state that seeds a new run has its steering checked', () => {
    const s = base();
    // An admit refusal records origin's specifier as found, even one PEP 440 does not parse.
    s.phases['PIN_UPDATE'] = {
      status: 'failed',
      pins_applied: {
        'omninode-claude': { from: '>=0.3.0 <0.5', from_raw: '>=0.3.0 <0.5', to: '0.4.0', matched: true },
      },
    };
    assert.equal(parseState(s, 'query').run_id, s.run_id);
    assert.deepEqual(problems(s), [
      'phases.PIN_UPDATE.pins_applied.omninode-claude.from_raw: not a PEP 440 specifier',
    ]);
  });

  it('carried pins must belong to the run: requested packages, requested versions; a target is a host name', () => {
    const s = base();
    s.phases['PIN_UPDATE'] = {
      status: 'completed',
      pins_applied: {
        'omninode-claude': { from: '0.3.0', from_raw: '==0.3.0', to: '0.5.0', matched: true },
        omnibase_core: { from: '1.0.0', from_raw: '==1.0.0', to: '1.0.1', matched: true },
      },
    };
    assert.deepEqual(problems(s), [
      'phases.PIN_UPDATE.pins_applied.omninode-claude.to: not the requested version',
      'phases.PIN_UPDATE.pins_applied.omnibase_core: not a requested package',
    ]);
    assert.deepEqual(problems({ ...base(), target: 'host a/../b' }), ['target: not a host name']);
    // Names compare as PEP 503 names: a differently spelled requested package is the same package.
    const ok = base();
    ok.phases['PIN_UPDATE'] = {
      status: 'completed',
      pins_applied: { Omninode_Claude: { from: '0.3.0', to: '0.4.0', matched: true } },
    };
    assert.deepEqual(problems(ok), []);
  });
});
