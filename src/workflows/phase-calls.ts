import { PHASE, phaseSummary, type Phase } from '../core/phases.js';
import { expectedPins, verifiedAgainst, type PhaseResult } from '../core/run.js';
import { phaseStatuses, type RedeployInput, type RedeployState } from '../core/state.js';
import type { Versions } from '../core/versions.js';
import { acts } from './options.js';

/** What a phase's activity is called with: the run's input, its state so far, and whether it is a re-attempt. */
export interface Call {
  input: RedeployInput;
  state: RedeployState;
  reattempt: boolean;
}

/** Only when given: activity inputs of runs without a lane stay as they were recorded. */
const laneOf = (input: RedeployInput) => (input.flags.lane ? { lane: input.flags.lane } : {});

/** Which worktree a phase acts on, and the origin commit it must still be at before a script runs. */
const worktreeAt = (c: Call) => ({
  ticket: c.input.worktreeTicket,
  ref: c.state.worktree_ref,
  baseCommit: c.state.provenance.base_commit,
});

/** DEPLOY's input (also the rollback's redeploy): what it must find in the worktree before it runs. */
export function deployInput(c: Call, expectPins: Versions | 'unchanged') {
  return {
    ticket: c.input.worktreeTicket,
    ref: c.state.worktree_ref,
    reattempt: c.reattempt,
    baseCommit: c.state.provenance.base_commit,
    dockerfileSha256: expectPins === 'unchanged' ? null : c.state.provenance.dockerfile_sha256,
    expectPins,
    ...laneOf(c.input),
    // --require-proven: only the commit the proving run deployed may be built.
    ...(c.input.proven ? { provenCommit: c.input.proven.commit } : {}),
  };
}

/** VERIFY's input (also the rollback's): the versions to check, against what was deployed. */
export function verifyInput(c: Pick<Call, 'input' | 'state'>, versions: Versions) {
  return { versions, against: verifiedAgainst(c.state), ticket: c.input.worktreeTicket, ...laneOf(c.input) };
}

/**
 * Each phase's activity call: the proxy of its options group (core/phases.ts) and its activity, with
 * its arguments. Typed per phase, so each result carries that phase's details.
 */
const CALLS: { [P in Phase]: (c: Call, summary: { summary: string }) => Promise<PhaseResult<P>> } = {
  SYNC: (c, s) => acts[PHASE.SYNC.options].sync.executeWithOptions(s, [c.input.runId]),
  ENV_CHECK: (c, s) =>
    acts[PHASE.ENV_CHECK.options].envCheck.executeWithOptions(s, [
      c.input.runId,
      {
        skipInfisical: c.input.flags.skipInfisical,
        ticket: c.input.worktreeTicket,
        ref: c.state.worktree_ref,
        ...laneOf(c.input),
      },
    ]),
  WORKTREE: (c, s) =>
    acts[PHASE.WORKTREE.options].worktree.executeWithOptions(s, [
      c.input.runId,
      { ticket: c.input.worktreeTicket, versions: c.input.versions, ref: c.state.worktree_ref },
    ]),
  PIN_UPDATE: (c, s) =>
    acts[PHASE.PIN_UPDATE.options].pinUpdate.executeWithOptions(s, [
      c.input.runId,
      {
        ...worktreeAt(c),
        versions: c.input.versions,
        // Only when decided: activity inputs of earlier runs stay as they were recorded.
        ...(c.input.flags.pinPolicy ? { policy: c.input.flags.pinPolicy } : {}),
      },
    ]),
  DEPLOY: (c, s) =>
    acts[PHASE.DEPLOY.options].deploy.executeWithOptions(s, [
      c.input.runId,
      { ...deployInput(c, expectedPins(c.state, c.input)), versions: c.input.versions },
    ]),
  INFISICAL: (c, s) =>
    acts[PHASE.INFISICAL.options].infisical.executeWithOptions(s, [c.input.runId, worktreeAt(c)]),
  VERIFY: (c, s) =>
    acts[PHASE.VERIFY.options].verify.executeWithOptions(s, [
      c.input.runId,
      verifyInput(c, c.input.versions),
    ]),
  NOTIFY: (c, s) =>
    acts[PHASE.NOTIFY.options].notify.executeWithOptions(s, [
      c.input.runId,
      {
        versions: c.input.versions,
        phases: phaseStatuses(c.state),
        outcome: 'complete',
        provenance: c.state.provenance,
        ticket: c.input.worktreeTicket,
      },
    ]),
};

/** Runs one phase's activity, with a Web UI summary saying what it does. */
export function callPhase<P extends Phase>(phase: P, c: Call): Promise<PhaseResult<P>> {
  const summary = phaseSummary(phase, {
    ticket: c.input.worktreeTicket,
    ref: c.state.worktree_ref,
    versions: c.input.versions,
    pinsFound: c.state.phases.WORKTREE.pins_found ?? {},
    // Only a phase that behaves differently on a re-attempt says so (DEPLOY: --force).
    reattempt: c.reattempt && PHASE[phase].reattempt === 'force',
  });
  const call: (c: Call, s: { summary: string }) => Promise<PhaseResult<P>> = CALLS[phase];
  return call(c, { summary });
}
