// The floor of floor_overhead_ratio and cpu_ms_per_run_ratio: the least a Temporal program running the same
// eight phases must do. One activity per phase, in order, no state, queries, decisions, locks or logs.
import { proxyActivities } from '@temporalio/workflow';

const acts = proxyActivities({ startToCloseTimeout: '2 minutes', retry: { maximumAttempts: 1 } });
const PHASES = ['sync', 'envCheck', 'worktree', 'pinUpdate', 'deploy', 'infisical', 'verify', 'notify'];

export async function floorRedeploy(input) {
  for (const phase of input.verifyOnly ? ['verify'] : PHASES) await acts[phase](input);
  return 'ok';
}
