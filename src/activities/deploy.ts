import type { PhaseResult } from '../core/run.js';
import { deployCommand } from '../core/commands.js';
import type { Versions } from '../core/versions.js';
import { dirTree } from '../io/infra-tree.js';
import { deployScriptEnv } from '../core/plan.js';
import type { RunResult } from '../io/exec.js';
import { checkDeployNeeds, chosenLane } from './deploy-env.js';
import { probeHealth } from './verify.js';
import { needsForce } from '../io/deploy-force.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseContext,
} from './context.js';
import { infraClone, joinPath } from '../core/commands.js';
import { DEV_LANE } from '../core/lanes.js';
import { PROMOTED_REF, promotedLane } from '../core/pin-policy.js';
import { readRegularFile } from '../io/safe-read.js';
import { unrequestedPinChanges } from '../core/provenance.js';
import {
  fetchWhileLocating,
  git,
  pinsMismatch,
  requireWorktree,
  ticketOf,
  sha256,
  verifyAtOrigin,
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
  /** The requested pins, for today's script's own read-back (READBACK_EXPECTED_VERSIONS). */
  versions?: Versions;
  /** `--lane` (else ONEX_DEPLOY_LANE from the env, else dev). */
  lane?: string;
  /** --require-proven: the commit the proving run deployed; HEAD must be it. */
  provenCommit?: string;
}

/** Exit 64: today's deploy-runtime.sh refused a named precondition (OPERATOR_ENV_MISSING, BUILD_SOURCE …). */
const PRECONDITION_EXIT = 64;

/**
 * What is about to be deployed must be `origin/<ref>` plus the requested pins, nothing else: checked
 * right before the script runs, whatever the state says (a resumed run, a worktree edited meanwhile).
 */
async function preflight(ctx: PhaseContext, wt: string, opts: DeployInput, fetched: Promise<string>) {
  const ref = opts.ref ?? 'main';
  const changes = await verifyAtOrigin(ctx, wt, ref, opts.baseCommit, fetched);
  const ways = `Retry WORKTREE's checks with a new run (--worktree-ticket), or remove the worktree and resume.`;
  const sha = sha256(changes.dockerfile);
  if (opts.dockerfileSha256 && sha !== opts.dockerfileSha256) {
    throw new PhaseError(
      'DockerfileChanged',
      `docker/Dockerfile.runtime in ${wt} changed after PIN_UPDATE wrote it (SHA-256 ${sha.slice(0, 12)}, expected ${opts.dockerfileSha256.slice(0, 12)}); nothing was deployed. Retry PIN_UPDATE: resume the run, or ${ways.toLowerCase()}`,
      { retryable: false },
    );
  }
  const expected = opts.expectPins;
  const wrong =
    expected === 'unchanged'
      ? changes.pinsEdited
        ? ['pins differ from origin although no pin was to be written']
        : []
      : expected
        ? [
            ...pinsMismatch(changes.dockerfile, expected),
            // A pin nobody asked for, edited by hand: not origin's, not requested.
            // HEAD's Dockerfile as stored, read by verifyAtOrigin (HEAD is the commit checked there).
            ...unrequestedPinChanges(changes.headDockerfile ?? '', changes.dockerfile, Object.keys(expected)),
          ]
        : [];
  if (wrong.length > 0) {
    throw new PhaseError(
      'PinsNotAsRequested',
      `docker/Dockerfile.runtime in ${wt} does not hold the requested pins (${wrong.join('; ')}); nothing was deployed. Retry PIN_UPDATE: resume the run, or ${ways.toLowerCase()}`,
      { retryable: false },
    );
  }
  if (opts.provenCommit && changes.head !== opts.provenCommit)
    throw new PhaseError(
      'NotProven',
      `${wt} is at ${changes.head.slice(0, 12)}, but the proving run deployed ${opts.provenCommit.slice(0, 12)} (origin/main moved since); nothing was deployed. ` +
        `Prove the new commit on the proving lane, then start a new run`,
      { retryable: false },
    );
  const script = await worktreeScript(wt, DEPLOY_SCRIPT);
  if (!script)
    throw new PhaseError(
      'DeployScriptMissing',
      `${wt}/${DEPLOY_SCRIPT} does not exist; nothing was deployed`,
      { retryable: false },
    );
  return { commit: changes.head, sha, script };
}

/**
 * A promoted lane (prod, or one its script guards) builds exactly origin/main: the lineage guard's own
 * rules, checked here so a run that would be refused by the script is refused with redeploy's reasons
 * — clean tree with no untracked file (git status, as the guard reads it) and HEAD = fetched origin/main.
 */
export async function promotedCheck(
  ctx: PhaseContext,
  wt: string,
  lane: string | undefined,
  ref: string,
): Promise<{ lane: string; why: string } | undefined> {
  const name = lane ?? DEV_LANE;
  const script = await readRegularFile(joinPath(wt, DEPLOY_SCRIPT), { maxBytes: 4 * 1024 * 1024 }).catch(
    () => undefined,
  );
  const promoted = promotedLane(name, script);
  if (!promoted.promoted) return undefined;
  if (ref !== PROMOTED_REF)
    throw new PhaseError(
      'NotPromoted',
      `lane ${name}: ${promoted.why}, but this run deploys origin/${ref}; nothing was deployed. Start a new run without --ref`,
      { retryable: false },
    );
  const status = await git(ctx, ['-C', wt, 'status', '--porcelain', '--untracked-files=all'], wt);
  if (status.exitCode !== 0)
    throw new PhaseError('WorktreeInvalid', `git status failed in ${wt}: ${status.tail.join(' ')}`, {
      retryable: true,
    });
  const dirty = status.stdout.split('\n').filter((l) => l.trim() !== '');
  if (dirty.length > 0)
    throw new PhaseError(
      'PromotedTreeDirty',
      `lane ${name}: ${promoted.why}, and ${wt} is not clean (${dirty.slice(0, 10).join(', ')}); nothing was deployed. ` +
        `Remove the worktree (git -C ${infraClone(ctx.config.omniHome)} worktree remove --force ${wt}) and resume, or start a new run with another --worktree-ticket`,
      { retryable: false, details: { changed_files: dirty } },
    );
  return { lane: name, why: promoted.why };
}

/**
 * Today's script checks health itself and fails the deploy (restoring its --force backup): reported as
 * VERIFY would report it — which endpoint, what it answers — and what the script restored.
 */
async function inScriptHealthFailure(
  ctx: PhaseContext,
  r: RunResult,
  passedUrl: string | undefined,
): Promise<{ message: string; details: Record<string, unknown> } | undefined> {
  const output = [...r.stderr.split('\n'), ...r.stdout.split('\n')];
  const failed = output.find((l) => /Health check FAILED/i.test(l));
  if (!failed) return undefined;
  const url = /not responding at (\S+)/.exec(output.join('\n'))?.[1] ?? passedUrl;
  const restored = output.some((l) => /restor\w* previous deployment/i.test(l));
  const probe = url ? await probeHealth(url, ctx.signal) : undefined;
  const answers = probe
    ? probe.status === 'healthy'
      ? `answers ${probe.code} now`
      : `${probe.error} now`
    : '';
  return {
    message:
      `deploy-runtime.sh's own health check failed: ${url ?? 'the runtime'}${answers ? ` (${answers})` : ''} — ` +
      `${failed.replace(/^.*ERROR:\s*/, '')} ` +
      (restored
        ? 'The script restored the previous deployment from its backup (the containers run the new build until a redeploy). '
        : 'The script did not report restoring a previous deployment. ') +
      'Retry deploys again; skip goes on to VERIFY with what runs now; abort ends the run.',
    details: {
      failed_health: url ? ['runtime'] : [],
      health: probe ? { runtime: probe } : {},
      restored_previous: restored,
    },
  };
}

/**
 * Why deploy-runtime.sh failed, as the operator must read it: a refused precondition, its own health
 * check, the lock of another deployment, or a failed build. `recorded`: provenance and lane, after
 * `force` and the exit code in the details (their order as always recorded).
 */
async function deployFailure(
  ctx: PhaseContext,
  r: RunResult,
  healthUrl: string | undefined,
  force: boolean,
  recorded: Record<string, unknown>,
): Promise<PhaseError> {
  if (r.exitCode === PRECONDITION_EXIT) {
    return new PhaseError(
      'DeployPrecondition',
      `deploy-runtime.sh refused to start (exit 64, a precondition): ${tailText(r)}`,
      {
        // the script names what the operator must fix; the same attempt would fail the same way
        retryable: false,
        details: { force, exit_code: 64, ...recorded },
      },
    );
  }
  const health = await inScriptHealthFailure(ctx, r, healthUrl);
  if (health) {
    return new PhaseError('DeployHealthFailed', health.message, {
      retryable: false,
      details: { force, exit_code: r.exitCode ?? null, ...recorded, ...health.details },
    });
  }
  // Exit 2 is the lock of another deployment (or bad flags): waiting and retrying is right for the lock.
  const locked = r.exitCode === 2 && r.tail.some((l) => /another deploy|lock/i.test(l));
  return new PhaseError(
    locked ? 'DeployLocked' : 'DeployFailed',
    `deploy-runtime.sh failed (${describeExit(r)}): ${tailText(r)}`,
    // A failed build is rarely transient and costs minutes: the operator decides, not a retry loop.
    { retryable: locked, details: { force, exit_code: r.exitCode ?? null, ...recorded } },
  );
}

/** DEPLOY: `./scripts/deploy-runtime.sh --execute --restart [--force]` from the worktree. Builds take minutes. */
export function makeDeploy(deps: ActivityDeps) {
  return async function deploy(runId: string, opts: DeployInput): Promise<PhaseResult<'DEPLOY'>> {
    return withPhase(
      deps,
      'DEPLOY',
      runId,
      async (ctx) => {
        // origin is fetched (into the clone) while the worktree is located.
        const { located: wt, fetched } = await fetchWhileLocating(ctx, opts.ref ?? 'main', () =>
          requireWorktree(ctx, ticketOf(ctx, opts)),
        );
        const checked = await preflight(ctx, wt, opts, fetched);
        ctx.log(
          `[redeploy] deploying ${checked.commit} (Dockerfile SHA-256 ${checked.sha}) with ${checked.script}`,
        );
        const provenance = {
          deployed_commit: checked.commit,
          dockerfile_sha256: checked.sha,
          deploy_script: checked.script,
        };
        const lane = chosenLane(ctx, opts.lane);
        // ENV_CHECK read origin/<ref>; this is the worktree itself, before anything is built.
        const needs = await checkDeployNeeds(ctx, dirTree(wt), lane);
        const { force, why } = await needsForce(ctx.config.deployRoot, wt, opts.reattempt || ctx.attempt > 1);
        ctx.log(`[redeploy] --force ${force ? 'on' : 'off'}: ${why}`);
        const promoted = await promotedCheck(ctx, wt, lane, opts.ref ?? 'main');
        if (promoted)
          ctx.log(
            `[redeploy] lane ${promoted.lane} is promoted: the worktree is clean and exactly origin/main`,
          );
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
        const r = await ctx.run(deployCommand(wt, force), { env: extra });
        const laneDetails = needs.lane ? { lane: needs.lane.lane, compose_project: needs.lane.project } : {};
        if (r.exitCode === 0) {
          const warnings = r.tail.filter((l) => /warn|unhealthy/i.test(l));
          return {
            details: { force, ...provenance, ...laneDetails },
            output: warnings.length ? { warnings } : {},
          };
        }
        throw await deployFailure(ctx, r, extra['HEALTH_CHECK_URL'], force, {
          ...provenance,
          ...laneDetails,
        });
      },
      { ticket: opts.ticket },
    );
  };
}
