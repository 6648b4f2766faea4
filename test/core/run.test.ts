import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyResult,
  awaitDecision,
  decisionProblem,
  decisionTimedOut,
  expectedPins,
  failPhase,
  markCancelled,
  markCompleted,
  markFlagSkips,
  phaseLabel,
  phasesToRun,
  recordDecision,
  rollbackCompleted,
  rollbackFailed,
  rollbackPlan,
  startPhase,
  startRollback,
  targetTaken,
  verifiedAgainst,
  waitForTarget,
  WAITING_LABELS,
} from '../../src/core/run.js';
import { initState, type RedeployInput, type RedeployState } from '../../src/core/state.js';

const T0 = '2026-12-02T08:00:00.000Z';
const T1 = '2026-12-02T08:01:00.000Z';

function input(over: Partial<RedeployInput> = {}): RedeployInput {
  return {
    runId: 'redeploy-test',
    worktreeTicket: 'OMN-1',
    versions: { omniintelligence: '0.8.0' },
    flags: { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
    startedBy: 'ops@host',
    ...over,
  };
}

function state(over: Partial<RedeployInput> = {}): RedeployState {
  return initState(input(over), { workflowId: 'redeploy-test', runId: 'r1' }, T0);
}

const WORKTREE = {
  path: '/wt/OMN-1/omnibase_infra',
  reused: false,
  pins_found: { omniintelligence: '0.6.0' },
  pins_found_raw: { omniintelligence: '===0.6.0' },
  ref: 'main',
  base_commit: 'a'.repeat(40),
  origin_url: 'https://example.invalid/omnibase_infra.git',
};

/** A run that got through DEPLOY: the state a VERIFY failure finds. */
function deployed(): RedeployState {
  const s = state();
  applyResult(s, 'WORKTREE', { details: WORKTREE }, T0);
  applyResult(
    s,
    'PIN_UPDATE',
    {
      details: {
        pins_applied: {
          omniintelligence: { from: '0.6.0', from_raw: '===0.6.0', to: '0.8.0', matched: true },
        },
        mode: 'builtin',
        dockerfile_sha256: 'd'.repeat(64),
      },
    },
    T0,
  );
  applyResult(
    s,
    'DEPLOY',
    {
      details: {
        force: false,
        deployed_commit: 'a'.repeat(40),
        dockerfile_sha256: 'd'.repeat(64),
        deploy_script: '/wt/OMN-1/omnibase_infra/scripts/deploy-runtime.sh',
      },
    },
    T0,
  );
  return s;
}

describe('run transitions (core/run.ts)', () => {
  it('marks every flag skip at once, and verify-only skips all but VERIFY', () => {
    const s = state({
      flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: true, verifyOnly: false },
    });
    markFlagSkips(s, T0);
    assert.equal(s.phases.SYNC.status, 'skipped_by_flag');
    assert.equal(s.phases.INFISICAL.status, 'skipped_by_flag');
    assert.equal(s.phases.PIN_UPDATE.status, 'pending');
    assert.deepEqual(phasesToRun(s), ['ENV_CHECK', 'WORKTREE', 'PIN_UPDATE', 'DEPLOY', 'VERIFY', 'NOTIFY']);

    const v = state({
      flags: { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: true },
    });
    markFlagSkips(v, T0);
    assert.deepEqual(phasesToRun(v), ['VERIFY']);
  });

  it('does not re-mark a phase settled in an earlier run (resume)', () => {
    const s = state({
      flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
      resumeFrom: {
        phases: { SYNC: { status: 'completed', ts: T0, summary: 'pulled' } },
        worktreePath: null,
      },
    });
    markFlagSkips(s, T1);
    assert.equal(s.phases.SYNC.status, 'completed');
    assert.equal(s.phases.SYNC.summary, 'pulled');
  });

  it('applies WORKTREE and PIN_UPDATE results: path, pins applied (the `to`), provenance', () => {
    const s = deployed();
    assert.equal(s.worktree_path, WORKTREE.path);
    assert.deepEqual(s.pins_applied, { omniintelligence: '0.8.0' });
    assert.equal(s.provenance.base_commit, 'a'.repeat(40));
    assert.equal(s.provenance.origin_url, WORKTREE.origin_url);
    assert.equal(s.provenance.dockerfile_sha256, 'd'.repeat(64));
    assert.equal(s.provenance.deploy_script, '/wt/OMN-1/omnibase_infra/scripts/deploy-runtime.sh');
    assert.equal(s.phases.WORKTREE.status, 'completed');
    assert.equal(s.phases.WORKTREE.pins_found_raw?.['omniintelligence'], '===0.6.0');
  });

  it('keeps the status an activity reports (INFISICAL: skipped_no_infisical)', () => {
    const s = state();
    applyResult(s, 'INFISICAL', { status: 'skipped_no_infisical', details: {} }, T0);
    assert.equal(s.phases.INFISICAL.status, 'skipped_no_infisical');
  });

  it('labels the run for the RedeployPhase search attribute', () => {
    const s = state();
    assert.equal(phaseLabel(s), 'PENDING');
    startPhase(s, 'SYNC', T0);
    assert.equal(phaseLabel(s), 'SYNC');
    assert.ok(waitForTarget(s, { run_id: 'other', started_by: 'b@h', started_at: T0 }));
    assert.equal(phaseLabel(s), 'WAITING_FOR_TARGET');
    assert.equal(
      waitForTarget(s, { run_id: 'other', started_by: 'b@h', started_at: T0 }),
      false,
      'same holder',
    );
    assert.ok(targetTaken(s));
    assert.equal(targetTaken(s), false, 'only once');
    markCompleted(s, T1);
    assert.equal(phaseLabel(s), 'COMPLETED');
    assert.equal(s.current_phase, null);
  });

  it('a failure keeps the error and what the activity reported, then waits for a decision', () => {
    const s = state();
    startPhase(s, 'ENV_CHECK', T0);
    failPhase(
      s,
      'ENV_CHECK',
      { message: 'MISSING: X', details: { error_type: 'MissingEnv', missing: 'X' } },
      T1,
    );
    assert.equal(s.phases.ENV_CHECK.status, 'failed');
    assert.equal(s.phases.ENV_CHECK.error, 'MISSING: X');
    assert.equal(s.phases.ENV_CHECK.error_type, 'MissingEnv');
    assert.equal(s.phases.ENV_CHECK['missing'], 'X');
    assert.equal(s.current_phase, 'ENV_CHECK');
    awaitDecision(s, 'ENV_CHECK', 'MISSING: X', T1, '2026-12-03T08:01:00.000Z');
    assert.equal(s.status, 'waiting_for_decision');
    assert.deepEqual(s.pending_decision, {
      phase: 'ENV_CHECK',
      error: 'MISSING: X',
      since: T1,
      deadline: '2026-12-03T08:01:00.000Z',
    });
  });

  it('labels a run waiting for a decision `<PHASE> waiting` (only where the patch is in: old histories keep the phase name)', () => {
    const s = state();
    startPhase(s, 'DEPLOY', T0);
    failPhase(s, 'DEPLOY', { message: 'boom', details: {} }, T1);
    awaitDecision(s, 'DEPLOY', 'boom', T1, '2026-12-03T08:01:00.000Z');
    assert.equal(phaseLabel(s, { waiting: true }), 'DEPLOY waiting');
    assert.equal(phaseLabel(s), 'DEPLOY');
    assert.ok(WAITING_LABELS.includes('DEPLOY waiting'));
    assert.equal(WAITING_LABELS.length, 8);
    recordDecision(s, 'DEPLOY', { action: 'retry', phase: 'DEPLOY', by: 'alice' }, 'boom', T1);
    startPhase(s, 'DEPLOY', T1);
    assert.equal(phaseLabel(s, { waiting: true }), 'DEPLOY', 'running again');
  });

  describe('decisions', () => {
    const waiting = (phase: 'ENV_CHECK' | 'WORKTREE' = 'ENV_CHECK') => {
      const s = state();
      startPhase(s, phase, T0);
      failPhase(s, phase, { message: 'boom', details: {} }, T0);
      awaitDecision(s, phase, 'boom', T0, T1);
      return s;
    };

    it('refuses a decision when none is awaited, naming the status', () => {
      assert.equal(
        decisionProblem(state(), { action: 'retry', phase: 'SYNC' }, undefined),
        'redeploy-test is not waiting for a decision (status: running)',
      );
    });

    it('refuses a wrong action, a wrong phase and a non-object, each with an example payload', () => {
      const s = waiting();
      assert.match(
        decisionProblem(s, { action: 'redo', phase: 'ENV_CHECK' }, undefined) ?? '',
        /^action must be retry, skip or abort \(got "redo"\), e\.g\. \{/,
      );
      assert.match(
        decisionProblem(s, { action: 'retry', phase: 'DEPLOY' }, undefined) ?? '',
        /^ENV_CHECK is waiting, not DEPLOY: send e\.g\. /,
      );
      assert.match(decisionProblem(s, [1], undefined) ?? '', /^the data must be one JSON object/);
      assert.equal(decisionProblem(s, { action: 'retry', phase: 'ENV_CHECK' }, undefined), undefined);
    });

    it("refuses what the Web UI's swallowed r/R leaves, saying so; a payload that kept its r's passes", () => {
      const s = waiting();
      const problem = (d: unknown) => decisionProblem(s, d, undefined) ?? '';
      const swallowed =
        /its r\/R look swallowed: .*Open the History tab \("Event History" in Web UI 2\.54\), then send it again$/;
      // `skip` has no r: the payload went through with `reason` → `eason`, and the reason was lost.
      assert.match(
        problem({ action: 'skip', phase: 'ENV_CHECK', by: 'bob', eason: 'flaky' }),
        /^unknown field "eason" \(the fields are action, phase, by, reason\)/,
      );
      assert.match(problem({ action: 'skip', phase: 'ENV_CHECK', by: 'bob', eason: 'flaky' }), swallowed);
      assert.match(problem({ action: 'ety', phase: 'ENV_CHECK', by: 'bob' }), swallowed);
      assert.match(problem({ action: 'abot', phase: 'ENV_CHECK', by: 'bob' }), swallowed);
      assert.match(problem({ action: 'skip', phase: 'ENV_CHECK', by: 'you name' }), /placeholder/);
      assert.match(problem({ action: 'skip', phase: 'ENV_CHECK', by: 'you name' }), swallowed);
      assert.match(
        problem({ action: 'skip', phase: 'ENV_CHECK', by: 'your name' }),
        /^"by" is still the example's placeholder/,
      );
      assert.doesNotMatch(
        problem({ action: 'redo', phase: 'ENV_CHECK' }),
        swallowed,
        'only a real r-less match says so',
      );
      assert.match(
        problem({ action: 'skip', phase: 'ENV_CHECK', by: 'bob', note: 'x' }),
        /^unknown field "note"/,
      );
      assert.doesNotMatch(problem({ action: 'skip', phase: 'ENV_CHECK', by: 'bob', note: 'x' }), swallowed);
      assert.match(problem({ action: 'skip', phase: 'ENV_CHECK', by: '' }), /^by must name who decides/);
      assert.equal(problem({ action: 'retry', phase: 'ENV_CHECK', by: 'Fred Ross', reason: 'fixed' }), '');
      // Signals a run recorded before these checks accepted stay accepted on replay.
      assert.equal(
        decisionProblem(s, { action: 'skip', phase: 'ENV_CHECK', eason: 'x' }, undefined, false),
        undefined,
      );
    });

    it('refuses a second decision in the same activation', () => {
      const s = waiting();
      assert.equal(
        decisionProblem(s, { action: 'skip', phase: 'ENV_CHECK' }, { action: 'retry', phase: 'ENV_CHECK' }),
        'a decision (retry) for ENV_CHECK is already being applied',
      );
    });

    it('refuses skipping WORKTREE (the phase table says it cannot be skipped)', () => {
      assert.match(
        decisionProblem(waiting('WORKTREE'), { action: 'skip', phase: 'WORKTREE' }, undefined) ?? '',
        /^WORKTREE cannot be skipped/,
      );
      assert.equal(
        decisionProblem(waiting('WORKTREE'), { action: 'abort', phase: 'WORKTREE' }, undefined),
        undefined,
      );
    });

    it('records a retry and leaves the phase to run again', () => {
      const s = waiting();
      assert.equal(
        recordDecision(s, 'ENV_CHECK', { action: 'retry', phase: 'ENV_CHECK', by: 'ops' }, 'boom', T1),
        'retry',
      );
      assert.deepEqual(s.decisions, [{ phase: 'ENV_CHECK', action: 'retry', by: 'ops', at: T1 }]);
      assert.equal(s.pending_decision, null);
      assert.equal(s.phases.ENV_CHECK.status, 'failed');
      assert.equal(s.finished_at, null);
    });

    it('records a skip as skipped_by_operator, with who and why', () => {
      const s = waiting();
      recordDecision(s, 'ENV_CHECK', { action: 'skip', phase: 'ENV_CHECK', reason: 'known' }, 'boom', T1);
      assert.equal(s.phases.ENV_CHECK.status, 'skipped_by_operator');
      assert.equal(s.phases.ENV_CHECK.by, 'unknown');
      assert.equal(s.phases.ENV_CHECK.error, 'boom');
      assert.equal(s.decisions[0]?.reason, 'known');
      assert.equal(s.status, 'running');
    });

    it('records an abort as the final state', () => {
      const s = waiting();
      recordDecision(s, 'ENV_CHECK', { action: 'abort', phase: 'ENV_CHECK', by: 'ops' }, 'boom', T1);
      assert.equal(s.status, 'aborted');
      assert.equal(s.error, 'aborted by ops at ENV_CHECK: boom');
      assert.equal(s.finished_at, T1);
    });

    it('fails the run when no decision came before the deadline', () => {
      const s = waiting();
      decisionTimedOut(s, 'ENV_CHECK', 'boom', T1, T1);
      assert.equal(s.status, 'failed');
      assert.equal(s.error, `ENV_CHECK failed and no decision came before ${T1}: boom`);
      assert.equal(s.pending_decision, null);
    });
  });

  it('cancellation marks the running phase and a running rollback, once; a final outcome stands', () => {
    const s = deployed();
    startPhase(s, 'VERIFY', T0);
    assert.ok(markCancelled(s, T1));
    assert.equal(s.status, 'cancelled');
    assert.equal(s.phases.VERIFY.status, 'cancelled');
    assert.equal(markCancelled(s, T1), false, 'already final');

    const done = state();
    markCompleted(done, T1);
    assert.equal(markCancelled(done, T1), false);
    assert.equal(done.status, 'completed');
  });

  it('DEPLOY expects the requested pins only when PIN_UPDATE completed', () => {
    assert.equal(expectedPins(state(), input()), 'unchanged');
    assert.deepEqual(expectedPins(deployed(), input()), { omniintelligence: '0.8.0' });
  });

  it('VERIFY checks against the deployed commit, else the base', () => {
    const s = state();
    applyResult(s, 'WORKTREE', { details: WORKTREE }, T0);
    assert.deepEqual(verifiedAgainst(s), { ref: 'main', commit: 'a'.repeat(40), dockerfile_sha256: null });
  });

  describe('rollback (--rollback-on-failure)', () => {
    it("restores the found pin's bytes (===0.6.0 stays ===0.6.0) and verifies only exact versions", () => {
      const plan = rollbackPlan(deployed());
      assert.ok(plan.ok);
      assert.deepEqual(plan.restore, { omniintelligence: '===0.6.0' });
      assert.deepEqual(plan.verify, { omniintelligence: '0.6.0' });
    });

    it('has nothing to roll back when DEPLOY did not complete or no pin changed', () => {
      const s = deployed();
      s.phases.DEPLOY.status = 'failed';
      assert.equal(rollbackPlan(s).ok, false);
      const same = state();
      assert.equal(rollbackPlan(same).ok, false);
    });

    it('a range or unpinned original is restored but not version-checked', () => {
      const s = deployed();
      s.phases.WORKTREE.pins_found_raw = { omniintelligence: '>=0.5,<0.7' };
      const plan = rollbackPlan(s);
      assert.ok(plan.ok);
      assert.deepEqual(plan.restore, { omniintelligence: '>=0.5,<0.7' });
      assert.deepEqual(plan.verify, {});
    });

    it('marks PIN_UPDATE and DEPLOY rolled back before anything is undone, then ends rolled_back', () => {
      const s = deployed();
      const plan = rollbackPlan(s);
      assert.ok(plan.ok);
      startRollback(s, plan, 'VERIFY FAILED', T1);
      assert.equal(s.phases.PIN_UPDATE.status, 'rolled_back');
      assert.equal(s.phases.DEPLOY.status, 'rolled_back');
      assert.ok(s.phases.PIN_UPDATE.pins_applied, 'the pins applied stay on record');
      assert.equal(s.rollback?.status, 'running');
      rollbackCompleted(s, plan.restore, T1);
      assert.equal(s.status, 'rolled_back');
      assert.deepEqual(s.pins_applied, {});
      assert.equal(s.error, 'VERIFY failed: VERIFY FAILED\nrolled back to omniintelligence===0.6.0');
    });

    it('a failed step fails the run, naming the step', () => {
      const s = deployed();
      const plan = rollbackPlan(s);
      assert.ok(plan.ok);
      startRollback(s, plan, 'VERIFY FAILED', T1);
      rollbackFailed(s, 'DEPLOY', 'exit 1', T1);
      assert.equal(s.status, 'failed');
      assert.equal(s.rollback?.error, 'DEPLOY: exit 1');
      assert.equal(s.error, 'VERIFY failed: VERIFY FAILED\nrollback failed at DEPLOY: exit 1');
    });
  });
});
