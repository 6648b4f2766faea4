import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createActivities } from '../../src/activities/index.js';
import {
  PHASE,
  PHASES,
  flagSkip,
  isCarriedOnResume,
  isHalfRun,
  phaseOfActivity,
  phaseSummary,
  skippingOption,
} from '../../src/core/phases.js';

const NONE = { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false };

describe('the phase table (core/phases.ts)', () => {
  it("names each phase's activity, a registered activity, and maps it back", () => {
    const registry = createActivities();
    for (const p of PHASES) {
      assert.equal(typeof registry[PHASE[p].activity], 'function', `${p}: ${PHASE[p].activity}`);
      assert.equal(phaseOfActivity(PHASE[p].activity), p);
    }
    assert.equal(phaseOfActivity('notifyFailure'), undefined, 'not a phase');
  });

  it('says which option skips which phase', () => {
    assert.equal(skippingOption('SYNC', { ...NONE, skipSync: true }), '--skip-sync');
    assert.equal(
      skippingOption('PIN_UPDATE', { ...NONE, skipDockerfileUpdate: true }),
      '--skip-dockerfile-update',
    );
    assert.equal(skippingOption('INFISICAL', { ...NONE, skipInfisical: true }), '--skip-infisical');
    assert.equal(skippingOption('DEPLOY', { ...NONE, skipSync: true }), undefined);
    for (const p of PHASES)
      assert.equal(
        flagSkip(p, { ...NONE, verifyOnly: true }),
        p === 'VERIFY' ? undefined : 'skipped_by_flag',
      );
  });

  it('treats a failed, running or cancelled record as half-run, and carries it with completed ones', () => {
    assert.deepEqual(
      (
        ['pending', 'running', 'completed', 'failed', 'skipped_by_flag', 'cancelled', 'rolled_back'] as const
      ).map((s) => [s, isHalfRun(s), isCarriedOnResume(s)]),
      [
        ['pending', false, false],
        ['running', true, true],
        ['completed', false, true],
        ['failed', true, true],
        ['skipped_by_flag', false, false],
        ['cancelled', true, true],
        ['rolled_back', false, false],
      ],
    );
  });

  it('builds Web UI summaries, DEPLOY showing --force only on a re-attempt, at most 200 bytes', () => {
    const facts = {
      ticket: 'OMN-1',
      ref: 'main',
      versions: { omniintelligence: '0.8.0', 'omninode-claude': '0.4.0' },
      pinsFound: { omniintelligence: '0.6.0' },
      reattempt: false,
    };
    assert.equal(phaseSummary('WORKTREE', facts), 'WORKTREE OMN-1 from origin/main');
    assert.equal(
      phaseSummary('PIN_UPDATE', facts),
      'PIN_UPDATE omniintelligence 0.6.0 → 0.8.0, omninode-claude → 0.4.0',
    );
    assert.equal(phaseSummary('DEPLOY', facts), 'DEPLOY deploy-runtime.sh');
    assert.equal(phaseSummary('DEPLOY', { ...facts, reattempt: true }), 'DEPLOY deploy-runtime.sh --force');
    assert.equal(phaseSummary('VERIFY', facts), 'VERIFY omniintelligence==0.8.0, omninode-claude==0.4.0');
    const many = Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`pkg-${i}`, '1.0.0']));
    assert.equal(phaseSummary('VERIFY', { ...facts, versions: many }).length, 200);
  });

  it("prints the seed's completion lines from each phase's details", () => {
    const run = { worktree_ticket: 'OMN-1', worktree_ref: 'main' };
    assert.deepEqual(PHASE.ENV_CHECK.completedLines({ status: 'completed', checked: ['A', 'B'] }, run), [
      'ENV_CHECK: A OK',
      'ENV_CHECK: B OK',
    ]);
    assert.deepEqual(
      PHASE.WORKTREE.completedLines(
        { status: 'completed', reused: true, path: '/wt', base_commit: 'b'.repeat(40), warnings: ['w'] },
        run,
      ),
      [
        'Reusing existing worktree at /wt',
        `WORKTREE: based on origin/main @ ${'b'.repeat(12)}`,
        'WORKTREE: WARNING w',
      ],
    );
    assert.deepEqual(
      PHASE.PIN_UPDATE.completedLines(
        {
          status: 'completed',
          pins_applied: { a: { from: '0.1', from_raw: '==0.1', to: '0.2', matched: true } },
        },
        run,
      ),
      ['  a: 0.1 -> 0.2'],
    );
    assert.deepEqual(PHASE.DEPLOY.completedLines({ status: 'completed', force: true }, run), [
      'DEPLOY: deploy-runtime.sh --execute --restart --force -> OK',
    ]);
    assert.deepEqual(
      PHASE.VERIFY.failedLines?.({
        status: 'failed',
        health: {
          runtime: { url: 'http://h/health', status: 'unhealthy', code: null, error: 'ECONNREFUSED' },
        },
        versions: { a: { expected: '0.2', actual: '0.1', ok: false } },
      }),
      [
        'VERIFY: runtime http://h/health -> FAILED (ECONNREFUSED)',
        'VERIFY: a Version: 0.1 (expected 0.2) -> MISMATCH',
      ],
    );
    assert.deepEqual(PHASE.NOTIFY.completedLines({ status: 'completed', channel: 'stdout' }, run), []);
  });
});
