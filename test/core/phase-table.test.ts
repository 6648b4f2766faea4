import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHASE, PHASES, ROLLBACK, carriedPhases, type Phase, type PhaseDef } from '../../src/core/phases.js';
import { legacyStateSchema, statePhasesSchema } from '../../src/core/schemas.js';
import { initState, markPhase, renderDetails, type PhaseRecords } from '../../src/core/state.js';
import { summaryLines } from '../../src/core/summary.js';
import { rollbackPlan, startRollback } from '../../src/core/run.js';
import { SAMPLE_INPUT } from '../support/state.js';
import { WORKFLOW_TYPE } from '../../src/core/messages.js';
import { redeploy } from '../../src/workflows/index.js';

/** Issue 22 item 1: the rows drive the initial state, the state-file schema, --resume and the views. */

const IDS = { workflowId: SAMPLE_INPUT.runId, runId: 'r' };
const T0 = '2026-12-02T00:00:00Z';

/** Runs `body` with one row's fields changed, then puts the row back (the table is one shared object). */
function withRow<P extends Phase>(phase: P, change: Partial<PhaseDef<P>>, body: () => void): void {
  const row = PHASE[phase] as PhaseDef<P>;
  const saved = { ...row };
  Object.assign(row, change);
  try {
    body();
  } finally {
    for (const k of Object.keys(change) as (keyof PhaseDef<P>)[]) delete row[k];
    Object.assign(row, saved);
  }
}

/** The phases of the first release: a phase added since has a `since` row (and is not listed here). */
const ORIGINAL = 'SYNC ENV_CHECK WORKTREE PIN_UPDATE DEPLOY INFISICAL VERIFY NOTIFY'.split(' ') as Phase[];

const allPending = () =>
  Object.fromEntries(PHASES.map((p) => [p, { status: 'pending' }])) as unknown as PhaseRecords;

describe('the phase table as the single source (core/phases.ts rows)', () => {
  it('names the workflow type as the workflow function is named (the CLI starts runs by that name)', () => {
    assert.equal(WORKFLOW_TYPE, redeploy.name);
  });

  it('lists the phases in the rows’ order', () => {
    assert.deepEqual(PHASES, Object.keys(PHASE));
    // The original eight keep the order the legacy state file and every recorded history have.
    assert.deepEqual(
      PHASES.filter((p) => ORIGINAL.includes(p)),
      ORIGINAL,
    );
  });

  it('builds the initial state from the rows: every phase pending, in order; carried records kept', () => {
    const fresh = initState(SAMPLE_INPUT, IDS, T0);
    assert.deepEqual(Object.keys(fresh.phases), PHASES);
    assert.ok(PHASES.every((p) => fresh.phases[p].status === 'pending'));
    const deploy = { status: 'failed' as const, ts: T0, error: 'boom' };
    const resumed = initState(
      { ...SAMPLE_INPUT, resumeFrom: { phases: { DEPLOY: deploy }, worktreePath: null } },
      IDS,
      T0,
    );
    assert.deepEqual(Object.keys(resumed.phases), PHASES);
    assert.equal(resumed.phases.DEPLOY, deploy);
    assert.equal(resumed.phases.VERIFY.status, 'pending');
  });

  it('requires every original phase in a state file, but not a row added later (`since`)', () => {
    const file = { ...initState(SAMPLE_INPUT, IDS, T0) } as Record<string, unknown>;
    const withoutVerify = { ...allPending() } as Partial<PhaseRecords>;
    delete withoutVerify.VERIFY;
    assert.ok(legacyStateSchema.safeParse(file).success);
    assert.ok(!legacyStateSchema.safeParse({ ...file, phases: withoutVerify }).success, 'VERIFY is required');
    const rows = { ...PHASE, VERIFY: { ...PHASE.VERIFY, since: 'redeploy-phase-verify' } };
    assert.ok(statePhasesSchema(rows).safeParse(withoutVerify).success, 'a since-row is optional');
    assert.ok(!statePhasesSchema(rows).safeParse({ ...withoutVerify, VERIFY: { status: 'nope' } }).success);
    assert.ok(!statePhasesSchema(rows).safeParse({ ...allPending(), DEPLOY: undefined }).success);
  });

  it('carries completed and half-run phases on --resume, not skips, and passes over a missing record', () => {
    const prev = {
      ...allPending(),
      SYNC: { status: 'skipped_by_flag' as const },
      ENV_CHECK: { status: 'completed' as const },
      WORKTREE: { status: 'completed' as const, path: '/w' },
      DEPLOY: { status: 'failed' as const, error: 'x' },
    } as Partial<PhaseRecords>;
    delete prev.NOTIFY; // a state file of a version without this phase
    const carried = carriedPhases({ phases: prev });
    assert.deepEqual(Object.keys(carried), ['ENV_CHECK', 'WORKTREE', 'DEPLOY']);
    assert.equal(carried.WORKTREE, prev.WORKTREE);
  });

  it('wires the rollback from the row: only VERIFY says onFailure, and ROLLBACK names its steps', () => {
    assert.deepEqual(
      PHASES.filter((p) => PHASE[p].onFailure === 'rollback'),
      ['VERIFY'],
    );
    assert.deepEqual(ROLLBACK, {
      found: 'WORKTREE',
      restore: 'PIN_UPDATE',
      redeploy: 'DEPLOY',
      verify: 'VERIFY',
    });
    assert.ok(
      PHASES.every((p) => PHASE[p].since === undefined),
      'no original phase is patch-guarded',
    );
  });

  it('marks the ROLLBACK steps rolled_back and reads the pins to restore from them', () => {
    const s = initState(SAMPLE_INPUT, IDS, T0);
    markPhase(s, 'WORKTREE', 'completed', T0, { pins_found_raw: { 'omninode-claude': '==0.3.0' } });
    markPhase(s, 'PIN_UPDATE', 'completed', T0, {
      pins_applied: {
        'omninode-claude': {
          from: '0.3.0',
          to: '0.4.0',
          matched: true,
          action: 'edited',
          from_raw: '==0.3.0',
        },
      },
    });
    markPhase(s, 'DEPLOY', 'completed', T0);
    const plan = rollbackPlan(s);
    assert.ok(plan.ok);
    assert.deepEqual(plan.restore, { 'omninode-claude': '==0.3.0' });
    startRollback(s, plan, 'VERIFY failed', T0);
    assert.deepEqual(
      PHASES.filter((p) => s.phases[p].status === 'rolled_back'),
      [ROLLBACK.restore, ROLLBACK.redeploy],
    );
  });

  it('offers a skip in the Web UI by the row’s operatorSkip, not by the phase’s name', () => {
    const waiting = () => {
      const s = initState(SAMPLE_INPUT, IDS, T0);
      markPhase(s, 'DEPLOY', 'failed', T0, { error: 'boom' });
      s.status = 'waiting_for_decision';
      s.pending_decision = { phase: 'DEPLOY', error: 'boom', since: T0, deadline: 'D' };
      return renderDetails(s);
    };
    assert.ok(waiting().includes('redeploy skip --phase DEPLOY'));
    withRow('DEPLOY', { operatorSkip: false }, () => assert.ok(!waiting().includes('redeploy skip')));
  });

  it('leaves out of the summary the phase whose row sends it, while it runs', () => {
    const lines = (phases: Partial<Record<Phase, 'running' | 'completed'>>) =>
      summaryLines('r', { versions: { a: '1' }, outcome: 'complete', phases });
    assert.ok(lines({ NOTIFY: 'running' }).includes('  Phases: all completed'));
    assert.ok(lines({ VERIFY: 'running' }).includes('  Phases: completed except VERIFY (running)'));
    withRow('VERIFY', { sendsSummary: true }, () =>
      assert.ok(lines({ VERIFY: 'running' }).includes('  Phases: all completed')),
    );
  });
});
