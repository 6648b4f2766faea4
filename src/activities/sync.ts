import type { PhaseResult } from '../core/run.js';
import { syncCommand } from '../core/commands.js';
import { describeExit, PhaseError, tailText, withPhase, type ActivityDeps } from './context.js';

/** SYNC: `bash $OMNI_HOME/docs/tools/pull-all.sh` — fast-forwards every repo clone. */
export function makeSync(deps: ActivityDeps) {
  return async function sync(runId: string): Promise<PhaseResult<'SYNC'>> {
    return withPhase(deps, 'SYNC', runId, async (ctx) => {
      const r = await ctx.run(syncCommand(ctx.config.omniHome));
      // pull-all.sh prints `  STATUS   repo …` per repo (status first); collect those that need attention.
      const problems = [...r.stdout.matchAll(/^\s*(MISSING|FAILED)\s+([\w.-]+)/gm)].map(
        (m) => `${m[2]} ${m[1]}`,
      );
      const summary = /^.*repo\(s\) up to date.*$/m.exec(r.stdout)?.[0]?.trim() ?? '';
      if (r.exitCode === 0) return { details: {}, output: { summary } };
      // A missing clone will not appear by retrying; a failed fetch may (network).
      const missing = problems.some((p) => p.endsWith('MISSING'));
      throw new PhaseError(
        missing ? 'SyncRepoMissing' : 'SyncFailed',
        `pull-all.sh failed (${describeExit(r)})${problems.length ? `: ${problems.join(', ')}` : ''}` +
          (missing ? ` — clone the missing repos under ${ctx.config.omniHome} or use --skip-sync` : '') +
          (problems.length ? '' : `\n${tailText(r)}`),
        { retryable: !missing && r.spawnError === undefined, details: { summary, problems } },
      );
    });
  };
}
