import type { PhaseResult } from '../core/run.js';
import { planRequiredEnv } from '../core/plan.js';
import { infraClone } from '../core/commands.js';
import { dirTree, refTree, type Tree } from '../io/infra-tree.js';
import { weakSecrets } from '../io/mask.js';
import { withPhase, type ActivityDeps, type PhaseContext } from './context.js';
import { checkDeployNeeds, chosenLane, logNeeds, missingEnvError, missingText } from './deploy-env.js';

/**
 * The tree DEPLOY will run from. ENV_CHECK comes before WORKTREE, so it is the commit the worktree is
 * based on — `origin/<ref>` in the clone (WORKTREE fetches again; DEPLOY checks the worktree once more)
 * — read with `git show`: checking there, before anything is built, is the point.
 */
async function deployTree(ctx: PhaseContext, ref: string): Promise<Tree> {
  const clone = infraClone(ctx.config.omniHome);
  return (await refTree(clone, [`origin/${ref}`, ref], ctx.env)) ?? dirTree(clone);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * ENV_CHECK: the variables DEPLOY and INFISICAL need, from the worker's environment plus the env file,
 * which is re-read on every attempt so that fixing the file and retrying is enough.
 */
export function makeEnvCheck(deps: ActivityDeps) {
  return async function envCheck(
    runId: string,
    opts: { skipInfisical: boolean; ticket?: string; lane?: string; ref?: string },
  ): Promise<PhaseResult<'ENV_CHECK'>> {
    return withPhase(deps, 'ENV_CHECK', runId, async (ctx) => {
      const { checked, infisical } = planRequiredEnv(ctx.env, opts.skipInfisical);
      const missing = checked.filter((name) => !ctx.env[name]);
      const invalid: string[] = [];
      const projectId = ctx.env['INFISICAL_PROJECT_ID'];
      if (infisical && projectId && !UUID_RE.test(projectId))
        invalid.push('INFISICAL_PROJECT_ID (not a UUID)');
      for (const name of checked) {
        if (!missing.includes(name)) ctx.log(`ENV_CHECK: ${name} OK`);
      }
      for (const name of missing) ctx.log(`ERROR: ${name} not set`);
      // Then what DEPLOY will need, from the tree it will deploy (nothing more for the 2025 scripts);
      // every problem is reported in one message, the seed's first.
      const tree = await deployTree(ctx, opts.ref ?? 'main');
      const needs = await checkDeployNeeds(ctx, tree, chosenLane(ctx, opts.lane), { lenient: true });
      const derived = needs.missing.filter((m) => !missing.includes(m.name));
      logNeeds(ctx, { ...needs, missing: derived }, tree);
      const allChecked = [...checked, ...needs.checked.filter((n) => !checked.includes(n))];
      if (missing.length > 0 || invalid.length > 0 || derived.length > 0) {
        const because =
          infisical && missing.some((m) => m.startsWith('INFISICAL_')) ? ' (INFISICAL_ADDR is set)' : '';
        const what = [...missing.map((m) => `${m} not set`), ...invalid.map((i) => `${i} invalid`)].join(
          '; ',
        );
        const text = [what ? `${what}${because}` : '', ...derived.map(missingText)].filter(Boolean);
        const err = missingEnvError(ctx, text, needs, needs.checked.length ? tree : undefined);
        err.details['missing'] = [...missing, ...derived.map((m) => m.name)].join(', ');
        err.details['invalid'] = invalid.join(', ');
        err.details['checked'] = allChecked;
        throw err;
      }
      // Masked all the same, but a reader could guess them from ordinary text: say so, by name only.
      const c = ctx.config;
      const weak = weakSecrets(ctx.envFile.vars, [
        c.omniHome,
        c.worktreeRoot,
        c.stateDir,
        c.logDir,
        c.deployRoot,
        runId,
      ]).map((w) => `${w.name}: ${w.why}; it cannot be masked reliably — use a longer, random value`);
      for (const w of weak) ctx.log(`ENV_CHECK: WARNING ${w}`);
      ctx.log('ENV_CHECK: completed');
      return {
        details: {
          checked: allChecked,
          env_file: ctx.envFile.path,
          ...(needs.checked.length ? { derived_from: tree.label } : {}),
          ...(needs.lane ? { lane: needs.lane.lane } : {}),
          ...(weak.length ? { warnings: weak } : {}),
        },
        output: {},
      };
    });
  };
}
