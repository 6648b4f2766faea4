import { deployCommand } from '../core/commands.js';
import { needsForce } from '../io/deploy-force.js';
import {
  requireWorktree,
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseOutcome,
} from './context.js';

/** DEPLOY: `./scripts/deploy-runtime.sh --execute --restart [--force]` from the worktree. Builds take minutes. */
export function makeDeploy(deps: ActivityDeps) {
  return async function deploy(
    runId: string,
    opts: { worktreePath: string; reattempt: boolean },
  ): Promise<PhaseOutcome> {
    return withPhase(deps, 'DEPLOY', runId, async (ctx) => {
      requireWorktree(opts.worktreePath);
      const { force, why } = await needsForce(
        ctx.config.deployRoot,
        opts.worktreePath,
        opts.reattempt || ctx.attempt > 1,
      );
      ctx.log(`[redeploy] --force ${force ? 'on' : 'off'}: ${why}`);
      ctx.heartbeat(`starting deploy-runtime.sh${force ? ' --force' : ''}`);
      const r = await ctx.run(deployCommand(opts.worktreePath, force));
      if (r.exitCode === 0) {
        const warnings = r.tail.filter((l) => /warn|unhealthy/i.test(l));
        return { details: { force, ...(warnings.length ? { warnings } : {}) } };
      }
      // Exit 2 is the lock of another deployment (or bad flags): waiting and retrying is right for the lock.
      const locked = r.exitCode === 2 && r.tail.some((l) => /another deploy|lock/i.test(l));
      throw new PhaseError(
        locked ? 'DeployLocked' : 'DeployFailed',
        `deploy-runtime.sh failed (${describeExit(r)}): ${tailText(r)}`,
        // A failed build is rarely transient and costs minutes: the operator decides, not a retry loop.
        locked,
        { force, exit_code: r.exitCode ?? null },
      );
    });
  };
}
