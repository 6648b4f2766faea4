import fs from 'node:fs/promises';
import path from 'node:path';
import { deployCommand, joinPath } from '../core/commands.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseOutcome,
} from './context.js';

/** omnibase_infra's own `[project] version`: names the deployment directory deploy-runtime.sh creates. */
export async function infraVersion(worktreePath: string): Promise<string | undefined> {
  const text = await fs.readFile(joinPath(worktreePath, 'pyproject.toml'), 'utf8').catch(() => '');
  const project = /^\[project\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(text)?.[1] ?? '';
  return /^\s*version\s*=\s*["']([^"']+)["']/m.exec(project)?.[1];
}

/**
 * Whether DEPLOY must pass --force. deploy-runtime.sh refuses (exit 1) when
 * `<deploy root>/<infra version>` exists — which is the *normal* case for a plugin-only redeploy, since
 * the infra version does not change — and on every re-attempt (retry, operator retry, resume).
 */
export async function needsForce(
  deployRoot: string,
  worktreePath: string,
  reattempt: boolean,
): Promise<{ force: boolean; why: string }> {
  if (reattempt) return { force: true, why: 're-attempt' };
  const version = await infraVersion(worktreePath);
  if (
    version &&
    (await fs.stat(path.join(deployRoot, version)).then(
      () => true,
      () => false,
    ))
  ) {
    return { force: true, why: `${path.join(deployRoot, version)} exists` };
  }
  return { force: false, why: version ? 'first deployment of this version' : 'infra version unknown' };
}

/** DEPLOY: `./scripts/deploy-runtime.sh --execute --restart [--force]` from the worktree. Builds take minutes. */
export function makeDeploy(deps: ActivityDeps) {
  return async function deploy(
    runId: string,
    opts: { worktreePath: string; reattempt: boolean },
  ): Promise<PhaseOutcome> {
    return withPhase(deps, 'DEPLOY', runId, async (ctx) => {
      const { force, why } = await needsForce(
        ctx.config.deployRoot,
        opts.worktreePath,
        opts.reattempt || ctx.attempt > 1,
      );
      ctx.log(`[redeploy] --force ${force ? 'on' : 'off'}: ${why}`);
      ctx.heartbeat(`starting deploy-runtime.sh${force ? ' --force' : ''}`);
      const r = await ctx.run(deployCommand(opts.worktreePath, force), { trackOrphans: true });
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
