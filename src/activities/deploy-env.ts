import { LaneError } from '../core/lanes.js';
import { chosenLane as planLane, providedVars, type Needs } from '../core/plan.js';
import { deployNeeds, type Tree } from '../io/infra-tree.js';
import { PhaseError, type PhaseContext } from './context.js';

/** The lane a run deploys (core/plan.ts): `--lane`, else ONEX_DEPLOY_LANE (worker env + env file). */
export const chosenLane = (ctx: PhaseContext, lane: string | undefined): string | undefined =>
  planLane(lane, ctx.env);

/**
 * Everything DEPLOY will need, checked at once (ENV_CHECK against the ref's tree, DEPLOY again against
 * the worktree before anything is built). Retrying cannot fix a missing variable: not retried.
 */
export async function checkDeployNeeds(
  ctx: PhaseContext,
  tree: Tree,
  lane: string | undefined,
  /** Only the lane's facts are wanted (VERIFY): missing variables are DEPLOY's and ENV_CHECK's business. */
  opts: { lenient?: boolean } = {},
): Promise<Needs> {
  let needs: Needs;
  try {
    needs = await deployNeeds(
      tree,
      {
        base: Object.fromEntries(Object.entries(ctx.env).filter(([k]) => !(k in ctx.envFile.vars))),
        fileVars: ctx.envFile.vars,
        fileExists: ctx.envFile.exists,
        filePath: ctx.envFile.path,
      },
      lane,
      providedVars(ctx.env, ctx.config.omniHome),
    );
  } catch (err) {
    if (err instanceof LaneError)
      throw new PhaseError('UnknownLane', `${err.message} (in ${tree.label})`, { retryable: false });
    throw err;
  }
  // The script sources the env file over its environment: a lane set there would win over --lane.
  if (needs.lane && lane) {
    const conflicts = [
      ['ONEX_DEPLOY_LANE', needs.lane.lane],
      ['OMNIBASE_INFRA_COMPOSE_PROJECT', needs.lane.project],
    ].filter(([k, v]) => ctx.envFile.vars[k as string] !== undefined && ctx.envFile.vars[k as string] !== v);
    if (conflicts.length)
      throw new PhaseError(
        'LaneConflict',
        `lane "${needs.lane.lane}" chosen, but ${ctx.envFile.path} sets ${conflicts.map(([k]) => `${k}=${ctx.envFile.vars[k as string]}`).join(', ')}, ` +
          'which deploy-runtime.sh would use instead (it sources that file over its environment). Remove it from the file or choose that lane.',
        { retryable: false },
      );
  }
  if (opts.lenient) return needs;
  logNeeds(ctx, needs, tree);
  if (needs.missing.length) throw missingEnvError(ctx, needs.missing.map(missingText), needs, tree);
  return needs;
}

export const missingText = (m: { name: string; why: string }): string =>
  m.name === 'env file' ? m.why : `${m.name} not set (${m.why})`;

export function logNeeds(ctx: PhaseContext, needs: Needs, tree: Tree): void {
  for (const name of needs.checked) {
    if (!needs.missing.some((m) => m.name === name)) ctx.log(`${ctx.phase}: ${name} OK (${tree.label})`);
  }
  for (const m of needs.missing) ctx.log(`ERROR: ${m.name} not set — ${m.why}`);
}

/** Every missing variable in one message; retrying cannot help until the operator edits the file. */
export function missingEnvError(
  ctx: PhaseContext,
  what: string[],
  needs: Needs | undefined,
  tree: Tree | undefined,
): PhaseError {
  const where = ctx.envFile.exists ? ctx.envFile.path : `${ctx.envFile.path} (which does not exist)`;
  return new PhaseError(
    'MissingEnv',
    `${what.join('; ')}. Add to ${where}, then retry — or set REDEPLOY_ENV_FILE to the right file. Nothing was built.`,
    {
      retryable: false,
      details: {
        missing: what.map((w) => /^\S+/.exec(w)?.[0] ?? w).join(', '),
        checked: needs?.checked ?? [],
        ...(tree ? { tree: tree.label } : {}),
      },
    },
  );
}
