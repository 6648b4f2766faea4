import { INFISICAL_ENV, REQUIRED_ENV } from '../core/env-vars.js';
import { weakSecrets } from '../io/mask.js';
import { PhaseError, withPhase, type ActivityDeps, type PhaseOutcome } from './context.js';

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * ENV_CHECK: the variables DEPLOY and INFISICAL need, from the worker's environment plus the env file,
 * which is re-read on every attempt so that fixing the file and retrying is enough.
 */
export function makeEnvCheck(deps: ActivityDeps) {
  return async function envCheck(runId: string, opts: { skipInfisical: boolean }): Promise<PhaseOutcome> {
    return withPhase(deps, 'ENV_CHECK', runId, async (ctx) => {
      const checked: string[] = [...REQUIRED_ENV];
      const infisical = !opts.skipInfisical && !!ctx.env['INFISICAL_ADDR'];
      if (infisical) checked.push(...INFISICAL_ENV);
      const missing = checked.filter((name) => !ctx.env[name]);
      const invalid: string[] = [];
      const projectId = ctx.env['INFISICAL_PROJECT_ID'];
      if (infisical && projectId && !UUID_RE.test(projectId))
        invalid.push('INFISICAL_PROJECT_ID (not a UUID)');
      for (const name of checked) {
        if (!missing.includes(name)) ctx.log(`ENV_CHECK: ${name} OK`);
      }
      if (missing.length > 0 || invalid.length > 0) {
        for (const name of missing) ctx.log(`ERROR: ${name} not set`);
        const where = ctx.envFile.exists ? ctx.envFile.path : `${ctx.envFile.path} (which does not exist)`;
        const what = [...missing.map((m) => `${m} not set`), ...invalid.map((i) => `${i} invalid`)].join(
          '; ',
        );
        const because =
          infisical && missing.some((m) => m.startsWith('INFISICAL_')) ? ' (INFISICAL_ADDR is set)' : '';
        throw new PhaseError(
          'MissingEnv',
          `${what}${because}. Add to ${where}, then retry — or set REDEPLOY_ENV_FILE to the right file.`,
          false, // retrying cannot help until the operator edits the file
          { missing: missing.join(', '), invalid: invalid.join(', '), checked },
        );
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
      return { details: { checked, env_file: ctx.envFile.path, ...(weak.length ? { warnings: weak } : {}) } };
    });
  };
}
