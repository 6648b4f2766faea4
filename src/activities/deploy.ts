import { deployCommand } from '../core/commands.js';
import { needsForce } from '../io/deploy-force.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseContext,
  type PhaseOutcome,
} from './context.js';
import {
  checkRef,
  modifiedWorktreeError,
  pinsMismatch,
  requireWorktree,
  sha256,
  worktreeChanges,
  worktreeScript,
} from './worktree-guard.js';

export const DEPLOY_SCRIPT = 'scripts/deploy-runtime.sh';

export interface DeployInput {
  ticket: string;
  reattempt: boolean;
  /** The worktree's base ref; default `main`. */
  ref?: string;
  /** WORKTREE's fetched `origin/<ref>` commit: HEAD must be exactly it. Without it, HEAD must be `origin/<ref>`. */
  baseCommit?: string | null;
  /** PIN_UPDATE's Dockerfile SHA-256: anything edited since is refused. */
  dockerfileSha256?: string | null;
  /**
   * The pins the Dockerfile must hold (currentPins' display form: `0.4.0`, `>=0.3.0,<0.5.0`), or
   * `unchanged` when no pin was to be written (PIN_UPDATE skipped): the Dockerfile must be HEAD's.
   */
  expectPins?: Record<string, string> | 'unchanged';
  /** Earlier versions of the workflow passed the path; ignored — the path is derived from the ticket. */
  worktreePath?: string;
}

/**
 * What is about to be deployed must be `origin/<ref>` plus the requested pins, nothing else: checked
 * right before the script runs, whatever the state says (a resumed run, a worktree edited meanwhile).
 */
async function preflight(ctx: PhaseContext, wt: string, opts: DeployInput) {
  const ref = opts.ref ?? 'main';
  checkRef(ref);
  const changes = await worktreeChanges(ctx, wt, ref);
  if (changes.extraCommits.length > 0 || changes.changedFiles.length > 0)
    throw modifiedWorktreeError(ctx, wt, ref, changes);
  const ways = `Retry WORKTREE's checks with a new run (--worktree-ticket), or remove the worktree and resume.`;
  if (opts.baseCommit ? changes.head !== opts.baseCommit : changes.behind > 0) {
    throw new PhaseError(
      'WorktreeNotAtBase',
      `${wt} is at ${changes.head.slice(0, 12)}, not at ${opts.baseCommit ? `the fetched origin/${ref} ${opts.baseCommit.slice(0, 12)}` : `origin/${ref}`}; nothing was deployed. ${ways}`,
      false,
    );
  }
  const sha = sha256(changes.dockerfile);
  if (opts.dockerfileSha256 && sha !== opts.dockerfileSha256) {
    throw new PhaseError(
      'DockerfileChanged',
      `docker/Dockerfile.runtime in ${wt} changed after PIN_UPDATE wrote it (SHA-256 ${sha.slice(0, 12)}, expected ${opts.dockerfileSha256.slice(0, 12)}); nothing was deployed. Retry PIN_UPDATE: resume the run, or ${ways.toLowerCase()}`,
      false,
    );
  }
  const expected = opts.expectPins;
  const wrong =
    expected === 'unchanged'
      ? changes.pinsEdited
        ? ['pins differ from origin although no pin was to be written']
        : []
      : expected
        ? pinsMismatch(changes.dockerfile, expected)
        : [];
  if (wrong.length > 0) {
    throw new PhaseError(
      'PinsNotAsRequested',
      `docker/Dockerfile.runtime in ${wt} does not hold the requested pins (${wrong.join('; ')}); nothing was deployed. Retry PIN_UPDATE: resume the run, or ${ways.toLowerCase()}`,
      false,
    );
  }
  const script = await worktreeScript(wt, DEPLOY_SCRIPT);
  if (!script)
    throw new PhaseError(
      'DeployScriptMissing',
      `${wt}/${DEPLOY_SCRIPT} does not exist; nothing was deployed`,
      false,
    );
  return { commit: changes.head, sha, script };
}

/** DEPLOY: `./scripts/deploy-runtime.sh --execute --restart [--force]` from the worktree. Builds take minutes. */
export function makeDeploy(deps: ActivityDeps) {
  return async function deploy(runId: string, opts: DeployInput): Promise<PhaseOutcome> {
    return withPhase(
      deps,
      'DEPLOY',
      runId,
      async (ctx) => {
        const wt = await requireWorktree(ctx, opts.ticket);
        const checked = await preflight(ctx, wt, opts);
        ctx.log(
          `[redeploy] deploying ${checked.commit} (Dockerfile SHA-256 ${checked.sha}) with ${checked.script}`,
        );
        const provenance = {
          deployed_commit: checked.commit,
          dockerfile_sha256: checked.sha,
          deploy_script: checked.script,
        };
        const { force, why } = await needsForce(ctx.config.deployRoot, wt, opts.reattempt || ctx.attempt > 1);
        ctx.log(`[redeploy] --force ${force ? 'on' : 'off'}: ${why}`);
        ctx.heartbeat(`starting deploy-runtime.sh${force ? ' --force' : ''}`);
        const r = await ctx.run(deployCommand(wt, force));
        if (r.exitCode === 0) {
          const warnings = r.tail.filter((l) => /warn|unhealthy/i.test(l));
          return {
            details: { force, ...provenance },
            output: warnings.length ? { warnings } : {},
          };
        }
        // Exit 2 is the lock of another deployment (or bad flags): waiting and retrying is right for the lock.
        const locked = r.exitCode === 2 && r.tail.some((l) => /another deploy|lock/i.test(l));
        throw new PhaseError(
          locked ? 'DeployLocked' : 'DeployFailed',
          `deploy-runtime.sh failed (${describeExit(r)}): ${tailText(r)}`,
          // A failed build is rarely transient and costs minutes: the operator decides, not a retry loop.
          locked,
          { force, exit_code: r.exitCode ?? null, ...provenance },
        );
      },
      { ticket: opts.ticket },
    );
  };
}
