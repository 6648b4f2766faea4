import { runGit, unsafeRepositoryMessage } from '../io/git.js';
import { infraClone, originRef } from '../core/commands.js';
import { CliError, EXIT_FAILED, EXIT_USAGE } from '../core/errors.js';
import { PROMOTED_REF } from '../core/pin-policy.js';
import type { RedeployState } from '../core/state.js';
import { runStateOrUndefined } from '../core/parse-state.js';
import { formatPins, normalizeName, sameVersion, type Versions } from '../core/versions.js';
import type { Context } from './commands/shared.js';
import { WORKFLOW_TYPE } from '../core/messages.js';

export { REQUIRE_PROVEN_ENV } from './proven-env.js';
/** How many recent completed runs are looked at: a proof older than that is stale anyway. */
const LOOK_AT = 100;

/** Whether a run verified exactly these versions (names PEP 503, versions PEP 440). */
export function sameVersionSet(a: Versions, b: Versions): boolean {
  const norm = (v: Versions) => new Map(Object.entries(v).map(([k, x]) => [normalizeName(k), x]));
  const [x, y] = [norm(a), norm(b)];
  return x.size === y.size && [...x].every(([k, v]) => y.has(k) && sameVersion(v, y.get(k) as string));
}

/** Whether a run's final state proves `commit` with `versions` on `lane`. */
export function proves(state: RedeployState, lane: string, commit: string, versions: Versions): boolean {
  return (
    state.status === 'completed' &&
    state.flags.lane === lane &&
    state.phases.VERIFY.status === 'completed' &&
    state.provenance.deployed_commit === commit &&
    sameVersionSet(state.versions_requested, versions)
  );
}

/**
 * --require-proven: the commit a run on `origin/main` will deploy (origin fetched now, as WORKTREE
 * will), and a completed run on the proving lane, found in Temporal's visibility, that deployed that
 * commit and verified the same versions. Refused (before anything starts) when there is none.
 */
export async function requireProven(
  ctx: Context,
  lane: string,
  versions: Versions,
): Promise<{ lane: string; run_id: string; commit: string }> {
  const clone = infraClone(ctx.config.omniHome);
  // The same fetch WORKTREE does first; failing it only leaves the commit as last fetched.
  // The clone sits in OMNI_HOME: through the hardened runner, no `git` looked up there.
  const opts = { untrustedDirs: [ctx.config.omniHome], timeoutMs: 120_000 };
  await runGit(
    [
      '-C',
      clone,
      'fetch',
      '--no-tags',
      'origin',
      `+refs/heads/${PROMOTED_REF}:refs/remotes/origin/${PROMOTED_REF}`,
    ],
    opts,
  );
  const r = await runGit(
    ['-C', clone, 'rev-parse', '--verify', '--quiet', `${originRef(PROMOTED_REF)}^{commit}`],
    opts,
  );
  if (r.unsafe) throw new CliError(unsafeRepositoryMessage(r.unsafe), EXIT_USAGE, { prefixed: true });
  const commit = r.exitCode === 0 ? r.stdout.trim() : '';
  if (!commit)
    throw new CliError(
      `--require-proven ${lane}: origin/${PROMOTED_REF} is not known in ${clone}`,
      EXIT_FAILED,
      {
        prefixed: true,
      },
    );
  const query = `WorkflowType = '${WORKFLOW_TYPE}' AND ExecutionStatus = 'Completed'`;
  let seen = 0;
  for await (const wf of ctx.client.workflow.list({ query, pageSize: 50 })) {
    if (++seen > LOOK_AT) break;
    // Parsed, not cast: a result that is not a valid run state proves nothing.
    const state = runStateOrUndefined(
      await ctx.client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .result()
        .catch(() => undefined),
    );
    if (state && proves(state, lane, commit, versions)) return { lane, run_id: state.run_id, commit };
  }
  throw new CliError(
    `--require-proven ${lane}: no completed redeploy on lane ${lane} deployed origin/${PROMOTED_REF} @ ${commit.slice(0, 12)} ` +
      `and verified ${formatPins(versions)} (looked at the ${Math.min(seen, LOOK_AT)} most recent completed runs). ` +
      `Redeploy the same versions to ${lane} first (redeploy --lane ${lane} --versions …), then run this again. Nothing was started.`,
    EXIT_FAILED,
    { prefixed: true },
  );
}
