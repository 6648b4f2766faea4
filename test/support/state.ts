import type { RedeployInput } from '../../src/core/state.js';

/** A run's input for unit tests of state, views and transitions (no server): SYNC skipped by flag. */
export const SAMPLE_INPUT: RedeployInput = {
  runId: 'redeploy-20261202-abc123',
  worktreeTicket: 'OMN-1',
  versions: { 'omninode-claude': '0.4.0' },
  flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
  startedBy: 'alice@host',
};
