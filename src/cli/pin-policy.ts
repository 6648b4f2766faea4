import { infraClone } from '../core/commands.js';
import { DEPLOY_SCRIPT_REL, DEV_LANE } from '../core/lanes.js';
import { PIN_POLICY_ENV, decidePinPolicy, promotedLane, type PinPolicy } from '../core/pin-policy.js';
import type { RedeployFlags } from '../core/state.js';
import type { Config } from '../io/config.js';
import { readEnvFile } from '../io/env-file.js';
import { PLAN_FILES, refTree, type Tree } from '../io/infra-tree.js';
import { chosenLane } from '../core/plan.js';
import { UsageError } from './args.js';

export interface RunPolicy {
  lane: string;
  ref: string;
  policy: PinPolicy;
  /** Where the policy came from: `--pin-policy`, the env var, or `default` (by lane). */
  source: string;
  promoted: { promoted: boolean; why: string };
  /** origin/<ref>'s tree as read here (undefined when it could not be): the dry run reads on from it. */
  tree?: Tree;
}

/**
 * The run's lane and pin policy, decided before anything starts: the lane as the activities choose it
 * (--lane, else ONEX_DEPLOY_LANE from the env file or the environment), whether it is promoted (prod,
 * or origin/<ref>'s deploy script guards it), and the policy. Refusals are usage errors (exit 2).
 */
export async function decideRunPolicy(
  config: Config,
  opts: { flags: RedeployFlags; ref: string | undefined; pinPolicy: string | undefined },
): Promise<RunPolicy> {
  const ref = opts.ref ?? config.worktreeRef;
  // With the script, the files a dry run reads on from this tree: one git reads them all. Started before
  // the env file is read (they are independent): git is then spawned before the CLI's start takes the thread.
  const reading = refTree(infraClone(config.omniHome), [`origin/${ref}`], undefined, PLAN_FILES).catch(
    () => undefined,
  );
  const env = await readEnvFile(config.envFile).catch(() => ({ vars: {} as Record<string, string> }));
  // As the activities choose it (core/plan.ts): the env file over the process's environment.
  const lane = chosenLane(opts.flags.lane, { ...process.env, ...env.vars }) ?? DEV_LANE;
  const tree = await reading;
  const script = await tree?.read(DEPLOY_SCRIPT_REL);
  const promoted = promotedLane(lane, script);
  const decided = decidePinPolicy({
    flag: opts.pinPolicy,
    env: process.env[PIN_POLICY_ENV],
    lane,
    ref,
    promoted,
  });
  if (decided.problems.length > 0) throw new UsageError(decided.problems);
  return { lane, ref, policy: decided.policy, source: decided.source, promoted, ...(tree ? { tree } : {}) };
}

/** The flags a new run starts with: its policy recorded, so the state, the report and --resume show it. */
export function withPolicy(flags: RedeployFlags, p: RunPolicy): RedeployFlags {
  return { ...flags, pinPolicy: p.policy };
}
