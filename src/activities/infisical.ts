import { infisicalCommand, SYNC_ENV_SCRIPT } from '../core/commands.js';
import { requireWorktree, worktreeScript } from './worktree-guard.js';
import {
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
  return async function infisical(
    runId: string,
    /** `worktreePath` from earlier versions of the workflow is ignored: the path is derived from the ticket. */
    opts: { ticket: string; worktreePath?: string },
  ): Promise<PhaseOutcome> {
    return withPhase(
      deps,
      'INFISICAL',
      runId,
      async (ctx) => {
        if (!ctx.env['INFISICAL_ADDR']) {
          ctx.log('INFISICAL: INFISICAL_ADDR not set, skipping');
          return { status: 'skipped_no_infisical', details: {} };
        }
        const wt = await requireWorktree(ctx, opts.ticket);
        // Only the worktree's own scripts run: a wrapper that resolves elsewhere is refused, not skipped.
        const hasWrapper = (await worktreeScript(wt, SYNC_ENV_SCRIPT)) !== undefined;
        if (!hasWrapper && !(await worktreeScript(wt, 'scripts/seed-infisical.py')))
          throw new PhaseError(
            'InfisicalScriptMissing',
            `neither ${SYNC_ENV_SCRIPT} nor scripts/seed-infisical.py exists in ${wt}`,
            false,
          );
        const r = await ctx.run(infisicalCommand(wt, hasWrapper), { timeoutMs: 10 * 60_000 });
        if (r.exitCode !== 0) {
          throw new PhaseError(
            'InfisicalFailed',
            `${hasWrapper ? 'sync-omnibase-env.sh' : 'seed-infisical.py'} failed (${describeExit(r)}): ${tailText(r)}`,
            r.spawnError === undefined, // seeding is idempotent; an Infisical hiccup is worth a retry
          );
        }
        const diff = /--- Seed Diff Summary ---\n([\s\S]*?)\n--- End Diff Summary ---/.exec(r.stdout)?.[1];
        return {
          details: { script: hasWrapper ? SYNC_ENV_SCRIPT : 'scripts/seed-infisical.py' },
          output: diff ? { diff } : {},
        };
      },
      { ticket: opts.ticket },
    );
  };
}
