import { infisicalCommand } from '../core/commands.js';
import { infisicalScript } from '../io/infra-tree.js';
import {
  requireWorktree,
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseOutcome,
} from './context.js';

/**
 * INFISICAL: skipped when INFISICAL_ADDR is unset (known only from the env file, hence decided here, not
 * in the workflow). Prefers scripts/sync-omnibase-env.sh, else seed-infisical.py, as the seed orders them.
 */
export function makeInfisical(deps: ActivityDeps) {
  return async function infisical(runId: string, opts: { worktreePath: string }): Promise<PhaseOutcome> {
    return withPhase(deps, 'INFISICAL', runId, async (ctx) => {
      if (!ctx.env['INFISICAL_ADDR']) {
        ctx.log('INFISICAL: INFISICAL_ADDR not set, skipping');
        return { status: 'skipped_no_infisical', details: {} };
      }
      requireWorktree(opts.worktreePath);
      const script = await infisicalScript(opts.worktreePath);
      const r = await ctx.run(infisicalCommand(opts.worktreePath, script, ctx.envFile.path), {
        timeoutMs: 10 * 60_000,
      });
      if (r.exitCode !== 0) {
        throw new PhaseError(
          'InfisicalFailed',
          `${script.slice('scripts/'.length)} failed (${describeExit(r)}): ${tailText(r)}`,
          r.spawnError === undefined, // seeding is idempotent; an Infisical hiccup is worth a retry
        );
      }
      const diff = /--- Seed Diff Summary ---\n([\s\S]*?)\n--- End Diff Summary ---/.exec(r.stdout)?.[1];
      return {
        details: {
          script,
          ...(diff ? { diff } : {}),
        },
      };
    });
  };
}
