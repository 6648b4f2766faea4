import type { PhaseResult } from '../core/run.js';
import { infisicalCommand, type InfisicalScript } from '../core/commands.js';
import { INFISICAL_SCRIPTS, infisicalRuns, planInfisical } from '../core/plan.js';
import {
  fetchWhileLocating,
  requireWorktree,
  ticketOf,
  verifyAtOrigin,
  worktreeScript,
} from './worktree-guard.js';
import { describeExit, PhaseError, tailText, withPhase, type ActivityDeps } from './context.js';

/**
 * INFISICAL: skipped when INFISICAL_ADDR is unset (known only from the env file, hence decided here, not
 * in the workflow). Prefers scripts/sync-omnibase-env.sh, else seed-infisical.py, as the seed orders them —
 * with today's scripts/sync-omnibase-env.py between the two (told redeploy's env file).
 */
export function makeInfisical(deps: ActivityDeps) {
  return async function infisical(
    runId: string,
    /** `worktreePath` from earlier versions of the workflow is ignored: the path is derived from the ticket. */
    opts: { ticket: string; ref?: string; baseCommit?: string | null; worktreePath?: string },
  ): Promise<PhaseResult<'INFISICAL'>> {
    return withPhase(
      deps,
      'INFISICAL',
      runId,
      async (ctx) => {
        if (!infisicalRuns(ctx.env)) {
          ctx.log('INFISICAL: INFISICAL_ADDR not set, skipping');
          return { status: 'skipped_no_infisical', details: {}, output: {} };
        }
        const ref = opts.ref ?? 'main';
        // origin is fetched (into the clone) while the worktree is located.
        const { located: wt, fetched } = await fetchWhileLocating(ctx, ref, () =>
          requireWorktree(ctx, ticketOf(ctx, opts)),
        );
        // The seeding script runs as root from the worktree: the worktree must still be origin's.
        await verifyAtOrigin(ctx, wt, ref, opts.baseCommit, fetched);
        // Only the worktree's own scripts run: a wrapper that resolves elsewhere is refused, not skipped.
        const present: InfisicalScript[] = [];
        for (const candidate of INFISICAL_SCRIPTS) {
          // In order, stopping at the first: a less preferred script that resolves elsewhere is never refused.
          if (await worktreeScript(wt, candidate)) {
            present.push(candidate);
            break;
          }
        }
        const script = planInfisical(present);
        if (!script)
          throw new PhaseError(
            'InfisicalScriptMissing',
            `none of ${INFISICAL_SCRIPTS.join(', ')} exists in ${wt}`,
            { retryable: false },
          );
        const r = await ctx.run(infisicalCommand(wt, script, ctx.envFile.path), { timeoutMs: 10 * 60_000 });
        if (r.exitCode !== 0) {
          throw new PhaseError(
            'InfisicalFailed',
            `${script.slice('scripts/'.length)} failed (${describeExit(r)}): ${tailText(r)}`,
            { retryable: r.spawnError === undefined }, // seeding is idempotent; an Infisical hiccup is worth a retry
          );
        }
        const diff = /--- Seed Diff Summary ---\n([\s\S]*?)\n--- End Diff Summary ---/.exec(r.stdout)?.[1];
        return {
          details: { script },
          output: diff ? { diff } : {},
        };
      },
      { ticket: opts.ticket },
    );
  };
}
