import { deployCommand } from '../core/commands.js';
import type { Versions } from '../core/versions.js';
import { needsForce } from '../io/deploy-force.js';
import { deployScriptEnv, dirTree } from '../io/infra-tree.js';
import {
  requireWorktree,
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseOutcome,
} from './context.js';
import { checkDeployNeeds, chosenLane } from './deploy-env.js';
import { probeHealth } from './verify.js';

/** Exit 64: today's deploy-runtime.sh refused a named precondition (OPERATOR_ENV_MISSING, BUILD_SOURCE …). */
const PRECONDITION_EXIT = 64;

/** DEPLOY: `./scripts/deploy-runtime.sh --execute --restart [--force]` from the worktree. Builds take minutes. */
export function makeDeploy(deps: ActivityDeps) {
  return async function deploy(
    runId: string,
    opts: { worktreePath: string; reattempt: boolean; versions?: Versions; lane?: string },
  ): Promise<PhaseOutcome> {
    return withPhase(deps, 'DEPLOY', runId, async (ctx) => {
      requireWorktree(opts.worktreePath);
      const lane = chosenLane(ctx, opts.lane);
      // ENV_CHECK read the ref's tree; this is the worktree itself (pins edited, perhaps a later fetch).
      const needs = await checkDeployNeeds(ctx, dirTree(opts.worktreePath), lane);
      const { force, why } = await needsForce(
        ctx.config.deployRoot,
        opts.worktreePath,
        opts.reattempt || ctx.attempt > 1,
      );
      ctx.log(`[redeploy] --force ${force ? 'on' : 'off'}: ${why}`);
      const extra = deployScriptEnv(
        ctx.env,
        ctx.envFile.path,
        ctx.config.omniHome,
        needs,
        lane,
        opts.versions ?? {},
      );
      ctx.log(`[redeploy] deploy-runtime.sh environment adds: ${Object.keys(extra).sort().join(', ')}`);
      ctx.heartbeat(`starting deploy-runtime.sh${force ? ' --force' : ''}`);
      const r = await ctx.run(deployCommand(opts.worktreePath, force), { env: extra });
      const laneDetails = needs.lane ? { lane: needs.lane.lane, compose_project: needs.lane.project } : {};
      if (r.exitCode === 0) {
        const warnings = r.tail.filter((l) => /warn|unhealthy/i.test(l));
        return { details: { force, ...laneDetails, ...(warnings.length ? { warnings } : {}) } };
      }
      const output = [...r.stderr.split('\n'), ...r.stdout.split('\n')];
      if (r.exitCode === PRECONDITION_EXIT) {
        throw new PhaseError(
          'DeployPrecondition',
          `deploy-runtime.sh refused to start (exit 64, a precondition): ${tailText(r)}`,
          false, // the script names what the operator must fix; the same attempt would fail the same way
          { force, exit_code: 64, ...laneDetails },
        );
      }
      const healthLine = output.find((l) => /Health check FAILED/i.test(l));
      if (healthLine) {
        // The script checked health itself and failed the deploy: report it as VERIFY would.
        const url = /not responding at (\S+)/.exec(output.join('\n'))?.[1] ?? extra['HEALTH_CHECK_URL'];
        const restored = output.find((l) => /restor\w* previous deployment/i.test(l));
        const probe = url ? await probeHealth(url, ctx.signal) : undefined;
        const answered = probe
          ? probe.status === 'healthy'
            ? `answers ${probe.code} now`
            : `answers ${probe.error} now`
          : 'no URL in its output';
        throw new PhaseError(
          'DeployHealthFailed',
          `deploy-runtime.sh's own health check failed: ${url ?? 'the runtime'} (${answered}); ${healthLine.replace(/^.*ERROR:\s*/, '')} ` +
            (restored
              ? 'The script restored the previous deployment directory (the containers were recreated from the new build). '
              : 'The script did not say it restored a previous deployment. ') +
            'Retry redeploys; skip goes on to INFISICAL and VERIFY; abort ends the run.',
          false,
          {
            force,
            exit_code: r.exitCode ?? null,
            ...laneDetails,
            failed_health: url ? ['runtime'] : [],
            health: probe ? { runtime: probe } : {},
            restored_previous: !!restored,
          },
        );
      }
      // Exit 2 is the lock of another deployment (or bad flags): waiting and retrying is right for the lock.
      const locked = r.exitCode === 2 && r.tail.some((l) => /another deploy|lock/i.test(l));
      throw new PhaseError(
        locked ? 'DeployLocked' : 'DeployFailed',
        `deploy-runtime.sh failed (${describeExit(r)}): ${tailText(r)}`,
        // A failed build is rarely transient and costs minutes: the operator decides, not a retry loop.
        locked,
        { force, exit_code: r.exitCode ?? null, ...laneDetails },
      );
    });
  };
}
