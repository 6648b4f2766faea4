import type { PhaseResult } from '../core/run.js';
import fs from 'node:fs/promises';
import {
  DOCKERFILE_REL,
  infraClone,
  joinPath,
  worktreeAddCommand,
  worktreePathFor,
} from '../core/commands.js';
import { currentPins, currentSpecifierHits, currentSpecifiers } from '../core/pins.js';
import { displayUrl } from '../core/provenance.js';
import { unsafeRepository } from '../io/git.js';
import type { Versions } from '../core/versions.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseContext,
} from './context.js';
import {
  allInOrder,
  checkRef,
  checkTicket,
  fetchBase,
  git,
  locateWorktree,
  modifiedWorktreeError,
  readDockerfile,
  refuseUnsafe,
  removeIgnored,
  resolveCommit,
  worktreeChanges,
} from './worktree-guard.js';

/** git errors no retry will fix; anything else (network, lock) is worth another attempt. */
const PERMANENT_GIT =
  /couldn't find remote ref|not a git repository|would be overwritten|conflict|already exists|is not a valid branch name|invalid reference|does not appear to be a git repository|not possible to fast-forward/i;

/** Where WORKTREE works, decided before anything is touched. */
interface Place {
  ticket: string;
  ref: string;
  versions: Versions;
  clone: string;
  /** The worktree: `<worktree root>/<ticket>/omnibase_infra`. */
  path: string;
  /** The fetched `origin/<ref>` commit it must be at. */
  base: string;
}

/** The pins the worktree holds for the requested packages: shown, bytes for a rollback, every place's bytes. */
function pinsFound(dockerfile: string, versions: Versions) {
  const pkgs = Object.keys(versions);
  return {
    // What the last run on this ticket pinned: the rollback's "previous" pins.
    pins_found: currentPins(dockerfile, pkgs),
    // The same pins as their bytes: what a rollback writes back (never the display form).
    pins_found_raw: currentSpecifiers(dockerfile, pkgs),
    pins_found_raw_hits: currentSpecifierHits(dockerfile, pkgs),
  };
}

/**
 * WORKTREE: `<worktree root>/<ticket>/omnibase_infra` on branch `<ticket>`, based on the freshly fetched
 * `origin/<ref>` — never on whatever the clone has checked out. A worktree already there (same ticket)
 * is reused only when it holds nothing but redeploy's own pin edits: those are reset and an old base is
 * fast-forwarded to `origin/<ref>`, so every run deploys origin's tree plus the requested pins.
 */
export function makeWorktree(deps: ActivityDeps) {
  return async function worktree(
    runId: string,
    opts: { ticket: string; versions: Versions; ref?: string },
  ): Promise<PhaseResult<'WORKTREE'>> {
    const ref = opts.ref ?? 'main';
    return withPhase(
      deps,
      'WORKTREE',
      runId,
      async (ctx) => {
        checkTicket(opts.ticket);
        checkRef(ref);
        const { omniHome, worktreeRoot } = ctx.config;
        const clone = infraClone(omniHome);
        if (!(await fs.stat(clone).catch(() => null))?.isDirectory()) {
          throw new PhaseError('InfraCloneMissing', `${clone} does not exist; check OMNI_HOME`, {
            retryable: false,
          });
        }
        const base = await fetchBase(ctx, ref);
        // Independent reads, together: origin's URL, its default branch, what is at the worktree's place.
        const [url, warning, existing] = await allInOrder([
          git(ctx, ['-C', clone, 'remote', 'get-url', 'origin'], omniHome),
          defaultBranchWarning(ctx, ref),
          locateWorktree(ctx, opts.ticket),
        ] as const);
        const provenance = {
          ref,
          base_commit: base,
          origin_url: url.exitCode === 0 ? displayUrl(url.stdout.trim()) : null,
          ...warning,
        };
        const place: Place = {
          ticket: opts.ticket,
          ref,
          versions: opts.versions,
          clone,
          path: worktreePathFor(worktreeRoot, opts.ticket),
          base,
        };
        const made = existing ? await reuseWorktree(ctx, place) : await addWorktree(ctx, place);
        // The details' order as always recorded: what was found, where it came from, what a reuse did.
        return { details: { ...made.found, ...provenance, ...made.reuse }, output: {} };
      },
      { ticket: opts.ticket },
    );
  };
}

/** The worktree is there: only redeploy's own pin edits are undone, and an old base fast-forwarded. */
async function reuseWorktree(ctx: PhaseContext, w: Place) {
  const { path, ref, base, clone } = w;
  const r = await git(ctx, ['-C', path, 'branch', '--show-current'], path);
  const branch = r.stdout.trim();
  if (branch !== w.ticket) {
    throw new PhaseError(
      'WorktreeWrongBranch',
      `Worktree at ${path} is on branch '${branch}', expected '${w.ticket}'. ` +
        `Use another --worktree-ticket, or remove it: git -C ${clone} worktree remove ${path}`,
      { retryable: false, details: { path, branch } },
    );
  }
  // origin/<ref> is the commit just fetched: not read again.
  const changes = await worktreeChanges(ctx, path, ref, Promise.resolve(base));
  if (changes.extraCommits.length > 0 || changes.changedFiles.length > 0)
    throw modifiedWorktreeError(ctx, path, ref, changes);
  const found = pinsFound(changes.dockerfile, w.versions);
  if (changes.pinsEdited) {
    const restore = await git(ctx, ['-C', path, 'checkout', '--', DOCKERFILE_REL], path);
    if (restore.exitCode !== 0)
      throw new PhaseError(
        'WorktreeInvalid',
        `could not reset ${DOCKERFILE_REL}: ${restore.tail.join(' ')}`,
        {
          retryable: true,
        },
      );
  }
  // Files the repository ignores (caches, a .venv) are not origin's: a reuse starts without them.
  await removeIgnored(ctx, path);
  // Old but clean: fast-forward, so a reuse deploys what origin has now (documented in docs/TRUST.md).
  if (changes.behind > 0) {
    const ff = await git(ctx, ['-C', path, 'merge', '--ff-only', '--no-edit', base], path);
    if (ff.exitCode !== 0)
      throw new PhaseError(
        'WorktreeFastForwardFailed',
        `git merge --ff-only in ${path} failed: ${ff.tail.join(' ')}`,
        { retryable: false },
      );
  }
  await expectHead(ctx, path, base);
  ctx.log(
    `Reusing existing worktree at ${path}` +
      (changes.behind > 0 ? ` (fast-forwarded ${changes.behind} commit(s) to origin/${ref})` : ''),
  );
  return {
    found: { path, reused: true, ...found },
    reuse: { fast_forwarded: changes.behind, pins_reset: changes.pinsEdited },
  };
}

/** No worktree yet: `git worktree add` at the fetched commit (re-attaching a branch an interrupted attempt left). */
async function addWorktree(ctx: PhaseContext, w: Place) {
  const { path, ref, base, clone } = w;
  const { omniHome, worktreeRoot } = ctx.config;
  // A directory deleted by hand leaves its registration behind, and `worktree add` would refuse the path.
  // An attempt interrupted after `worktree add -b` leaves the branch at the base: attach it. A branch
  // anywhere else is someone's older work, and deploying on top of it would be wrong. (Independent of the
  // prune: read meanwhile.)
  const [, branchAt] = await allInOrder([
    git(ctx, ['-C', clone, 'worktree', 'prune'], omniHome),
    resolveCommit(ctx, clone, `refs/heads/${w.ticket}`),
  ] as const);
  if (branchAt !== undefined && branchAt !== base) {
    throw new PhaseError(
      'BranchExists',
      `branch '${w.ticket}' already exists in ${clone} at ${branchAt.slice(0, 12)}, not at origin/${ref} (${base.slice(0, 12)}). ` +
        `Use another --worktree-ticket, or delete it: git -C ${clone} branch -D ${w.ticket}`,
      { retryable: false },
    );
  }
  await fs.mkdir(joinPath(worktreeRoot, w.ticket), { recursive: true });
  const add = await ctx.run(worktreeAddCommand(omniHome, path, w.ticket, base, branchAt === undefined), {
    timeoutMs: 5 * 60_000,
  });
  if (add.exitCode !== 0) refuseUnsafe(unsafeRepository(add.stderr));
  if (add.exitCode !== 0) {
    throw new PhaseError(
      'WorktreeAddFailed',
      `git worktree add ${path} failed (${describeExit(add)}): ${tailText(add)}`,
      { retryable: !PERMANENT_GIT.test(add.tail.join('\n')) },
    );
  }
  // What was checked out is exactly what was fetched (a hook could have moved it).
  // Checked together; the Dockerfile is read meanwhile but used only once both passed.
  const [, , dockerfile] = await allInOrder([
    locateWorktree(ctx, w.ticket),
    expectHead(ctx, path, base),
    readDockerfile(path),
  ] as const);
  return { found: { path, reused: false, ...pinsFound(dockerfile, w.versions) }, reuse: {} };
}

/**
 * Origin's default branch, when it is not the ref deployed (today's omnibase_infra develops on `dev` while
 * the default ref is `main`): said, never acted on. Best effort: no answer, no warning.
 */
async function defaultBranchWarning(ctx: PhaseContext, ref: string): Promise<{ warnings?: string[] }> {
  const clone = infraClone(ctx.config.omniHome);
  const r = await git(ctx, ['-C', clone, 'ls-remote', '--symref', 'origin', 'HEAD'], clone);
  const head = /^ref: refs\/heads\/(\S+)\s+HEAD$/m.exec(r.stdout)?.[1];
  if (r.exitCode !== 0 || !head || head === ref) return {};
  const warning = `origin's default branch is '${head}', this run deploys '${ref}' (--ref ${head} deploys that branch)`;
  ctx.log(`WORKTREE: WARNING ${warning}`);
  return { warnings: [warning] };
}

async function expectHead(ctx: PhaseContext, wt: string, base: string): Promise<void> {
  const head = await resolveCommit(ctx, wt, 'HEAD');
  if (head !== base) {
    throw new PhaseError(
      'WorktreeNotAtBase',
      `${wt} is at ${head?.slice(0, 12) ?? 'no commit'} after checkout, not at the fetched ${base.slice(0, 12)} (a git hook moved it?); remove the worktree and retry`,
      { retryable: false },
    );
  }
}
