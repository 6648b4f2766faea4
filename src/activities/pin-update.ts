import type { PhaseResult } from '../core/run.js';
import { z } from 'zod';
import { DOCKERFILE_REL, infraClone, joinPath, pinScriptCommand } from '../core/commands.js';
import {
  automationBranch,
  planPins,
  refusalMessage,
  verdictLine,
  type PinPolicy,
  type PinVerdict,
} from '../core/pin-policy.js';
import {
  rewritePins,
  rollbackDifferences,
  unifiedDiff,
  type PinReport,
  type PinRewrite,
} from '../core/pins.js';
import type { Versions } from '../core/versions.js';
import { formatPins } from '../core/state.js';
import { writeFileAtomic } from '../io/atomic.js';
import {
  git,
  readDockerfile,
  requireWorktree,
  ticketOf,
  sha256,
  verifyAtOrigin,
  worktreeScript,
} from './worktree-guard.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseContext,
  type PhaseOutcome,
} from './context.js';

const scriptReportSchema = z.record(
  z.string(),
  z.object({ from: z.string().nullable(), to: z.string(), matched: z.boolean() }),
);

function unmatchedError(unmatched: string[], dockerfile: string, report: PinReport): PhaseError {
  return new PhaseError(
    'PinNotMatched',
    `${unmatched.join(', ')} not found in ${dockerfile}: no pin line names ${unmatched.length > 1 ? 'them' : 'it'}. ` +
      `Check the package name in --versions (nothing was changed).`,
    {
      // the Dockerfile will not grow the line by itself
      retryable: false,
      details: { pins_applied: report, unmatched },
    },
  );
}

/**
 * The edit policy's plan (core/pin-policy.ts), exactly as the dry-run prints it. Its report is recorded
 * in the shape runs without a decided policy always had (no `action`): pinUpdate adds it under a policy.
 */
function editPlan(before: string, versions: Versions): Omit<PinRewrite, 'changed'> {
  const plan = planPins(before, versions, 'edit');
  const report: PinReport = Object.fromEntries(
    Object.entries(plan.report).map(([pkg, { action: _action, ...change }]) => [pkg, change]),
  );
  return { text: plan.text, report, unmatched: plan.unmatched, refused: plan.notRewritable };
}

/** Built in (default): rewrite the requested pins ourselves — the real update-plugin-pins.py has no --versions. */
async function builtin(
  ctx: PhaseContext,
  worktreePath: string,
  versions: Versions,
  restore = false,
  restoreHits?: Record<string, string[]>,
): Promise<PinReport> {
  const dockerfile = joinPath(worktreePath, DOCKERFILE_REL);
  const before = await readDockerfile(worktreePath);
  const result = restore
    ? rewritePins(before, versions, { restore, ...(restoreHits ? { restoreHits } : {}) })
    : editPlan(before, versions);
  // Nothing is written unless every requested package matched: no half-applied pin set.
  if (result.unmatched.length > 0) throw unmatchedError(result.unmatched, dockerfile, result.report);
  const refused = Object.entries(result.refused);
  if (refused.length > 0)
    throw new PhaseError(
      restore ? 'RollbackIncomplete' : 'PinNotRewritable',
      `${restore ? 'rollback incomplete: ' : ''}${refused.map(([k, why]) => `${k}: ${why}`).join('; ')} (${dockerfile}; nothing was changed)`,
      { retryable: false, details: { pins_applied: result.report, refused: result.refused } },
    );
  if (restore && restoreHits) {
    // The rollback's own proof: the result is origin's Dockerfile plus the recorded pins, place by place.
    const origin = await git(ctx, ['-C', worktreePath, 'show', `HEAD:${DOCKERFILE_REL}`]);
    const differs =
      origin.exitCode === 0
        ? rollbackDifferences(origin.raw, result.text, restoreHits)
        : [`origin's ${DOCKERFILE_REL} could not be read: ${origin.tail.join(' ')}`];
    if (differs.length > 0)
      throw new PhaseError(
        'RollbackIncomplete',
        `rollback incomplete: ${dockerfile} would not be origin's plus the recorded pins — ${differs.join('; ')}. ` +
          `Nothing was written; the failed pins are still deployed. Restore by hand and redeploy`,
        { retryable: false, details: { differences: differs } },
      );
  }
  for (const [pkg, change] of Object.entries(result.report))
    ctx.log(`  ${pkg}: ${change.from} -> ${change.to}`);
  if (result.text !== before) {
    await writeFileAtomic(dockerfile, result.text);
    ctx.log(unifiedDiff(before, result.text, DOCKERFILE_REL));
  } else {
    ctx.log('PIN_UPDATE: pins already at the requested versions; nothing to change');
  }
  return result.report;
}

/**
 * `admit`: the worktree (origin/<ref> itself) is never edited; every requested version must satisfy
 * origin's specifier. A refusal is final (no retry makes a range admit another version) and names the
 * way out: the change on main, through origin's `automation/pin-<pkg>-v<version>` branch when it exists.
 */
async function admit(
  ctx: PhaseContext,
  worktreePath: string,
  versions: Versions,
  ref: string,
): Promise<PinReport> {
  const text = await readDockerfile(worktreePath);
  const plan = planPins(text, versions, 'admit');
  for (const v of plan.verdicts) ctx.log(`  ${verdictLine(v)}`);
  if (plan.refused.length > 0) {
    const branches = await automationBranches(ctx, plan.refused);
    throw new PhaseError('PinNotAdmitted', refusalMessage(plan.refused, ref, branches), {
      retryable: false,
      details: {
        pins_applied: plan.report,
        not_admitted: plan.refused.map((v) => v.package),
        automation_branches: [...branches],
      },
    });
  }
  ctx.log('PIN_UPDATE: every requested version is admitted by origin; the Dockerfile is not edited');
  return plan.report;
}

/** Which `automation/pin-<pkg>-v<version>` branches origin has (asked of origin, not of stale local refs). */
async function automationBranches(ctx: PhaseContext, refused: PinVerdict[]): Promise<Set<string>> {
  const wanted = refused.map((v) => automationBranch(v.package, v.requested));
  const clone = infraClone(ctx.config.omniHome);
  const r = await git(
    ctx,
    ['-C', clone, 'ls-remote', '--heads', 'origin', ...wanted.map((b) => `refs/heads/${b}`)],
    clone,
  );
  // Best effort: an unreachable origin only loses the hint, never the refusal.
  if (r.exitCode !== 0) return new Set();
  const found = new Set(
    r.stdout
      .split('\n')
      .map((l) => l.split('\t')[1]?.replace(/^refs\/heads\//, ''))
      .filter((b): b is string => !!b),
  );
  return new Set(wanted.filter((b) => found.has(b)));
}

/** Script mode: the seed's update-plugin-pins.py contract (--versions, last stdout line JSON). */
async function script(
  ctx: PhaseContext,
  worktreePath: string,
  versions: Versions,
  origin: { ref: string; baseCommit: string | null | undefined },
): Promise<PinReport> {
  // The script runs from the worktree: the worktree must still be origin's.
  await verifyAtOrigin(ctx, worktreePath, origin.ref, origin.baseCommit);
  if (!(await worktreeScript(worktreePath, 'scripts/update-plugin-pins.py')))
    throw new PhaseError('PinScriptMissing', `${worktreePath}/scripts/update-plugin-pins.py does not exist`, {
      retryable: false,
    });
  const r = await ctx.run(pinScriptCommand(worktreePath, versions), { timeoutMs: 5 * 60_000 });
  if (r.exitCode !== 0) {
    // Real script: 1 = PyPI fetch failure (transient), 2 = Dockerfile missing or bad arguments.
    throw new PhaseError(
      'PinScriptFailed',
      `update-plugin-pins.py failed (${describeExit(r)}): ${tailText(r)}` +
        (r.exitCode === 2
          ? ' — does this script support --versions? If not, set REDEPLOY_PIN_MODE=builtin'
          : ''),
      { retryable: r.exitCode === 1 },
    );
  }
  const last =
    r.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .pop() ?? '';
  let parsed: PinReport;
  try {
    const json = scriptReportSchema.parse(JSON.parse(last));
    parsed = Object.fromEntries(Object.entries(json).map(([k, v]) => [k, { ...v, from: v.from ?? '' }]));
  } catch {
    throw new PhaseError(
      'PinScriptOutput',
      'update-plugin-pins.py did not print a JSON report on its last stdout line ' +
        '(the real script does not; set REDEPLOY_PIN_MODE=builtin)',
      { retryable: false },
    );
  }
  const unmatched = Object.keys(versions).filter((pkg) => !parsed[pkg]?.matched);
  if (unmatched.length > 0) throw unmatchedError(unmatched, joinPath(worktreePath, DOCKERFILE_REL), parsed);
  return parsed;
}

/** PIN_UPDATE: pins in docker/Dockerfile.runtime set to the requested versions. Re-running changes nothing. */
export function makePinUpdate(deps: ActivityDeps) {
  return async function pinUpdate(
    runId: string,
    /** `restore` (--rollback-on-failure): the original specifiers' bytes, written back instead of `versions`. */
    opts: {
      ticket: string;
      versions: Versions;
      restore?: Versions;
      /** Every place's original bytes per package (the rollback restores and checks place by place). */
      restoreHits?: Record<string, string[]>;
      ref?: string;
      baseCommit?: string | null;
      /** Earlier versions of the workflow passed the path; ignored — the path is derived from the ticket. */
      worktreePath?: string;
      /** The run's pin policy (unset in runs of earlier versions: edit). */
      policy?: PinPolicy;
    },
  ): Promise<PhaseResult<'PIN_UPDATE'>> {
    return withPhase(
      deps,
      'PIN_UPDATE',
      runId,
      async (ctx) => {
        const worktreePath = await requireWorktree(ctx, ticketOf(ctx, opts));
        const written = async () => ({ dockerfile_sha256: sha256(await readDockerfile(worktreePath)) });
        if (opts.restore) {
          // Always built in: a range or an unpinned package cannot be passed to the script's --versions.
          ctx.log(`PIN_UPDATE: rollback to ${formatPins(opts.restore)}`);
          const report = await builtin(ctx, worktreePath, opts.restore, true, opts.restoreHits);
          const restored: PhaseOutcome<'PIN_UPDATE'> = {
            details: { pins_applied: report, mode: 'builtin', rollback: true, ...(await written()) },
            output: {},
          };
          return restored;
        }
        if (opts.policy === 'admit') {
          const report = await admit(ctx, worktreePath, opts.versions, opts.ref ?? 'main');
          const admitted: PhaseOutcome<'PIN_UPDATE'> = {
            details: { pins_applied: report, mode: 'builtin', policy: 'admit', ...(await written()) },
            output: {},
          };
          return admitted;
        }
        const report =
          ctx.config.pinMode === 'script'
            ? await script(ctx, worktreePath, opts.versions, {
                ref: opts.ref ?? 'main',
                baseCommit: opts.baseCommit,
              })
            : await builtin(ctx, worktreePath, opts.versions);
        return {
          details: {
            // Under a decided policy each matched pin's record says it was edited (runs without one: as before).
            pins_applied: opts.policy
              ? Object.fromEntries(
                  Object.entries(report).map(([k, c]) => [
                    k,
                    c.matched ? { ...c, action: 'edited' as const } : c,
                  ]),
                )
              : report,
            mode: ctx.config.pinMode,
            ...(opts.policy ? { policy: opts.policy } : {}),
            ...(await written()),
          },
          output: {},
        };
      },
      { ticket: opts.ticket },
    );
  };
}
