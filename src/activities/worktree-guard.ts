import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  DOCKERFILE_REL,
  fetchRefCommand,
  infraClone,
  joinPath,
  originRef,
  worktreePathFor,
} from '../core/commands.js';
import { currentPins } from '../core/pins.js';
import { onlyPinsDiffer } from '../core/provenance.js';
import { refProblems } from '../core/ref.js';
import { ticketProblems } from '../core/ticket.js';
import { runGit, unsafeRepository, unsafeRepositoryMessage, type UnsafeRepository } from '../io/git.js';
import { readRegularFile } from '../io/safe-read.js';
import { describeExit, PhaseError, tailText, type PhaseContext } from './context.js';

/**
 * The trust boundary around the worktree. Every phase that acts on it derives its path from the
 * configuration (worktree root + ticket) — never from a state file, a query or an earlier phase's
 * output — and checks that it resolves (symlinks included) to that very place and is a worktree of
 * `$OMNI_HOME/omnibase_infra`. Scripts run only from inside it.
 */

export const DOCKERFILE_MAX_BYTES = 1024 * 1024;

export function checkTicket(ticket: string): void {
  const problems = ticketProblems(ticket);
  if (problems.length > 0)
    throw new PhaseError('InvalidTicket', `worktree ticket "${ticket}" ${problems.join('; ')}`, {
      retryable: false,
    });
}

export function checkRef(ref: string): void {
  const problems = refProblems(ref);
  if (problems.length > 0)
    throw new PhaseError('InvalidRef', `worktree ref "${ref}" ${problems.join('; ')}`, { retryable: false });
}

export function sha256(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

export interface GitResult {
  exitCode: number | undefined;
  /** Trimmed, except for `git show` where the exact bytes matter (`raw`). */
  stdout: string;
  raw: string;
  tail: string[];
}

/**
 * Our own git queries (rev-parse, status, log, show): through the one hardened runner (io/git.ts), not
 * logged line by line like the phase's commands (a `git show` of the Dockerfile is no log content),
 * bounded in time, cancellable. `cwd` is kept for callers and unused: every call names its repository
 * with `-C`, and git runs from `/`. `env` may hold redeploy's own GIT_* only (a throwaway index).
 */
export async function git(
  ctx: PhaseContext,
  args: string[],
  _cwd?: string,
  env: Record<string, string> = {},
): Promise<GitResult> {
  const r = await runGit(args, {
    env: ctx.env,
    own: env,
    signal: ctx.signal,
    timeoutMs: 60_000,
    untrustedDirs: [ctx.config.omniHome],
  });
  if (r.unsafe) refuseUnsafe(r.unsafe);
  return {
    exitCode: r.exitCode,
    stdout: r.stdout.trim(),
    raw: r.stdout,
    tail: r.stderr
      .trim()
      .split('\n')
      .slice(-3)
      .map((l) => ctx.mask(l)),
  };
}

/** A repository git refuses for its owner: the run waits for the operator, who decides whether to allow it. */
export function refuseUnsafe(u: UnsafeRepository | undefined): void {
  if (u)
    throw new PhaseError('RepositoryNotOwned', unsafeRepositoryMessage(u), {
      retryable: false,
      details: { repository: u.path, allow: u.allow },
    });
}

async function realpathOrNull(p: string): Promise<string | null> {
  return fs.realpath(p).catch(() => null);
}

/** `git rev-parse` answers, absolute. */
async function revParse(ctx: PhaseContext, dir: string, args: string[]): Promise<string[] | null> {
  const r = await git(ctx, ['-C', dir, 'rev-parse', '--path-format=absolute', ...args], dir);
  return r.exitCode === 0 ? r.stdout.split('\n').map((l) => l.trim()) : null;
}

/**
 * The worktree path for `ticket`, once it is known to be the real directory at that place (no symlink
 * in `<ticket>/omnibase_infra`) and a worktree of the infra clone, at its top level. `undefined` when
 * nothing exists there yet.
 */
export async function locateWorktree(ctx: PhaseContext, ticket: string): Promise<string | undefined> {
  checkTicket(ticket);
  const { worktreeRoot, omniHome } = ctx.config;
  const wt = worktreePathFor(worktreeRoot, ticket);
  const stat = await fs.lstat(wt).catch(() => null);
  const parent = await fs.lstat(path.dirname(wt)).catch(() => null);
  if (!stat && !parent?.isSymbolicLink()) return undefined;
  const root = await realpathOrNull(worktreeRoot);
  const real = await realpathOrNull(wt);
  if (!root || !real || real !== path.join(root, ticket, 'omnibase_infra')) {
    throw new PhaseError(
      'WorktreeOutsideRoot',
      `${wt} does not resolve to itself under the worktree root (a symbolic link in the path?); ` +
        `redeploy only acts on a real directory there. Remove it, or choose another --worktree-ticket`,
      { retryable: false },
    );
  }
  if (!(await fs.stat(real)).isDirectory())
    throw new PhaseError('WorktreeInvalid', `${wt} exists but is not a directory; remove it`, {
      retryable: false,
    });
  const clone = infraClone(omniHome);
  // Two independent reads: run together (each is a git spawn).
  const [cloneDir, here] = await Promise.all([
    revParse(ctx, clone, ['--git-common-dir']),
    revParse(ctx, wt, ['--git-common-dir', '--show-toplevel']),
  ]);
  const [common, top] = here ?? [];
  const same = async (a: string | undefined, b: string | undefined) =>
    !!a && !!b && (await realpathOrNull(a)) === (await realpathOrNull(b));
  if (!cloneDir || !(await same(common, cloneDir[0])) || !(await same(top, real))) {
    throw new PhaseError(
      'WorktreeInvalid',
      `${wt} exists but is not a worktree of ${clone}. Remove it ` +
        `(or \`git -C ${clone} worktree remove ${wt}\`), or choose another --worktree-ticket`,
      { retryable: false },
    );
  }
  return wt;
}

/**
 * The ticket of an activity input: given, or (an activity scheduled by an earlier version of the
 * workflow, which passed only the path) the path's ticket segment — then checked like any ticket, and
 * the path must be exactly the one derived from it.
 */
export function ticketOf(ctx: PhaseContext, opts: { ticket?: string; worktreePath?: string }): string {
  if (typeof opts.ticket === 'string') return opts.ticket;
  const wt = opts.worktreePath ?? '';
  const ticket = path.basename(path.dirname(wt));
  if (!wt || worktreePathFor(ctx.config.worktreeRoot, ticket) !== wt)
    throw new PhaseError(
      'NoWorktree',
      'this attempt was scheduled without a worktree ticket (an earlier version of redeploy); abort and start the run again',
      { retryable: false },
    );
  return ticket;
}

/** For phases after WORKTREE: the worktree must exist and pass locateWorktree. */
export async function requireWorktree(ctx: PhaseContext, ticket: string): Promise<string> {
  const wt = await locateWorktree(ctx, ticket);
  if (!wt)
    throw new PhaseError(
      'NoWorktree',
      `no worktree at ${worktreePathFor(ctx.config.worktreeRoot, ticket)} (WORKTREE did not complete, or it was removed); retry WORKTREE first`,
      { retryable: false },
    );
  return wt;
}

/**
 * A script of the worktree (`scripts/deploy-runtime.sh`): it must resolve inside the worktree and be a
 * regular file — a symlink to /tmp or to another checkout is refused, never executed.
 */
export async function worktreeScript(worktree: string, rel: string): Promise<string | undefined> {
  const candidate = joinPath(worktree, rel);
  if (!(await fs.lstat(candidate).catch(() => null))) return undefined;
  const real = await realpathOrNull(candidate);
  const top = await fs.realpath(worktree);
  const stat = real ? await fs.stat(real).catch(() => null) : null;
  if (!real || !real.startsWith(`${top}/`) || !stat?.isFile()) {
    throw new PhaseError(
      'ScriptOutsideWorktree',
      `${candidate} is not a regular file inside the worktree (it resolves elsewhere); redeploy runs only the worktree's own scripts. ` +
        `Restore it (git -C ${worktree} checkout -- ${rel}), or remove the worktree`,
      { retryable: false },
    );
  }
  return real;
}

export async function readDockerfile(worktree: string): Promise<string> {
  const file = joinPath(worktree, DOCKERFILE_REL);
  const text = await readRegularFile(file, { maxBytes: DOCKERFILE_MAX_BYTES }).catch((err: Error) => {
    throw new PhaseError('DockerfileInvalid', `${file}: ${err.message}`, { retryable: false });
  });
  if (text === undefined)
    throw new PhaseError(
      'DockerfileMissing',
      `${file} not found; is ${worktree} an omnibase_infra worktree?`,
      { retryable: false },
    );
  return text;
}

export interface WorktreeChanges {
  head: string;
  /** `<short sha> <subject>` of commits on HEAD that origin/<ref> does not have. */
  extraCommits: string[];
  /** Paths changed, added or untracked, other than the Dockerfile's pin lines. */
  changedFiles: string[];
  /** The Dockerfile differs from HEAD's (in pin specifiers only; otherwise it is in changedFiles). */
  pinsEdited: boolean;
  /** Commits origin/<ref> has that HEAD lacks (an old but clean worktree). */
  behind: number;
  dockerfile: string;
  /** HEAD's Dockerfile as stored (`git show <head>:docker/Dockerfile.runtime`); undefined if HEAD has none. */
  headDockerfile: string | undefined;
}

export async function resolveCommit(
  ctx: PhaseContext,
  dir: string,
  rev: string,
): Promise<string | undefined> {
  const r = await git(ctx, ['-C', dir, 'rev-parse', '--verify', '--quiet', `${rev}^{commit}`], dir);
  return r.exitCode === 0 ? r.stdout.trim() : undefined;
}

/** `diff-tree -z --name-status` against HEAD as changed files; a Dockerfile differing only in pins is redeploy's own edit. */
function changesVsHead(
  raw: string,
  dockerfile: string,
  headDockerfile: string | undefined,
): { changedFiles: string[]; pinsEdited: boolean } {
  const changedFiles: string[] = [];
  let pinsEdited = false;
  const fields = raw.split('\0').filter((f) => f !== '');
  for (let i = 0; i + 1 < fields.length; i += 2) {
    const code = fields[i] ?? '?';
    const file = fields[i + 1] ?? '';
    if (file === DOCKERFILE_REL && code === 'M') {
      if (headDockerfile !== undefined && onlyPinsDiffer(headDockerfile, dockerfile)) {
        pinsEdited = true;
        continue;
      }
    }
    changedFiles.push(`${code} ${file}`);
  }
  return { changedFiles, pinsEdited };
}

/** Waits for every promise (no git left running behind a failure), then throws the first rejection in order. */
export async function allInOrder<T extends readonly unknown[]>(
  promises: readonly [...{ [K in keyof T]: Promise<T[K]> }],
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const r of settled) if (r.status === 'rejected') throw r.reason;
  return settled.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Everything in the worktree that is not `origin/<ref>` plus redeploy's own pin edits. `origin`: the
 * commit of `origin/<ref>` when the caller has just resolved it (verifyAtOrigin, after its fetch; the
 * worktree shares the clone's refs), or a promise of it — the local checks start meanwhile.
 */
export async function worktreeChanges(
  ctx: PhaseContext,
  wt: string,
  ref: string,
  origin?: Promise<string>,
): Promise<WorktreeChanges> {
  const fail = (what: string, r: GitResult): never => {
    throw new PhaseError('WorktreeInvalid', `${what} failed in ${wt}: ${r.tail.join(' ')}`, {
      retryable: true,
    });
  };
  const head = await resolveCommit(ctx, wt, 'HEAD');
  if (!head)
    throw new PhaseError('WorktreeInvalid', `${wt} has no commit checked out (HEAD)`, { retryable: false });
  // What runs below reads the commit `head` names, not HEAD again: one commit throughout.
  const local = localChanges(ctx, wt, head, fail);
  local.catch(() => undefined); // awaited below, after the origin side
  // HEAD against origin, as soon as origin's commit is known (after the fetch), beside the local checks.
  const vsOrigin = (origin ?? resolveCommit(ctx, wt, originRef(ref))).then(async (originCommit) => {
    if (!originCommit)
      throw new PhaseError(
        'OriginRefMissing',
        `origin/${ref} is not known in ${infraClone(ctx.config.omniHome)}; WORKTREE fetches it — retry WORKTREE, or check that origin has a branch '${ref}'`,
        { retryable: false },
      );
    const [log, behind] = await allInOrder([
      // No signature check (log.showSignature in the clone's config would run its gpg.program).
      git(
        ctx,
        ['-c', 'log.showSignature=false', '-C', wt, 'log', '--format=%h %s', `${originCommit}..${head}`],
        wt,
      ),
      git(ctx, ['-C', wt, 'rev-list', '--count', `${head}..${originCommit}`], wt),
    ] as const);
    if (log.exitCode !== 0) fail('git log', log);
    if (behind.exitCode !== 0) fail('git rev-list', behind);
    return { log, behind };
  });
  const [{ log, behind }, { changedFiles, pinsEdited, dockerfile, headDockerfile }] = await allInOrder([
    vsOrigin,
    local,
  ] as const);
  return {
    head,
    extraCommits: log.stdout.split('\n').filter((l) => l.trim() !== ''),
    changedFiles,
    pinsEdited,
    behind: Number(behind.stdout.trim()) || 0,
    dockerfile,
    headDockerfile,
  };
}

/**
 * The worktree's files against commit `head`: changed, added or untracked files, and whether the
 * Dockerfile differs from head's in pin specifiers only. Content, not the worktree's own index: its
 * skip-worktree / assume-unchanged flags (or faked stat data) would hide an edited file from `git
 * status`. A throwaway index is built from head and the files on disk are hashed into it.
 */
async function localChanges(
  ctx: PhaseContext,
  wt: string,
  head: string,
  fail: (what: string, r: GitResult) => never,
): Promise<{
  changedFiles: string[];
  pinsEdited: boolean;
  dockerfile: string;
  headDockerfile: string | undefined;
}> {
  const headDockerfile = git(ctx, ['-C', wt, 'show', `${head}:${DOCKERFILE_REL}`], wt).then((r) =>
    r.exitCode === 0 ? r.raw : undefined,
  );
  const dockerfile = readDockerfile(wt);
  headDockerfile.catch(() => undefined);
  dockerfile.catch(() => undefined);
  const tmpIndex = path.join(os.tmpdir(), `redeploy-index-${process.pid}-${randomBytes(6).toString('hex')}`);
  const withIndex = { GIT_INDEX_FILE: tmpIndex };
  const changedFiles: string[] = [];
  let diff: GitResult;
  try {
    const steps: [string, string[]][] = [
      ['git read-tree', ['-C', wt, 'read-tree', head]],
      ['git add -u', ['-C', wt, 'add', '-u']],
    ];
    for (const [what, args] of steps) {
      const r = await git(ctx, args, wt, withIndex);
      if (r.exitCode !== 0) fail(what, r);
    }
    // The index (head plus the files on disk) against head, and the untracked files, together.
    const [d, others] = await allInOrder([
      git(
        ctx,
        ['-C', wt, 'diff-index', '--cached', '-z', '--no-renames', '--name-status', head],
        wt,
        withIndex,
      ),
      // Untracked files: only the repository's own (tracked, hence checked) .gitignore files excuse one —
      // not `.git/info/exclude` or a global excludes file, which anyone with the home directory can write.
      git(ctx, ['-C', wt, 'ls-files', '-z', '--others', '--exclude-per-directory=.gitignore'], wt, withIndex),
    ] as const);
    if (d.exitCode !== 0) fail('git diff-index', d);
    if (others.exitCode !== 0) fail('git ls-files', others);
    diff = d;
    for (const file of others.raw.split('\0').filter((f) => f !== '')) changedFiles.push(`?? ${file}`);
  } finally {
    await fs.rm(tmpIndex, { force: true });
    await fs.rm(`${tmpIndex}.lock`, { force: true });
    await Promise.allSettled([headDockerfile, dockerfile]);
  }
  const [text, stored] = await allInOrder([dockerfile, headDockerfile] as const);
  const vsHead = changesVsHead(diff.raw, text, stored);
  return {
    // Tracked changes first, then untracked: the order as always reported.
    changedFiles: [...vsHead.changedFiles, ...changedFiles],
    pinsEdited: vsHead.pinsEdited,
    dockerfile: text,
    headDockerfile: stored,
  };
}

/** The refusal for a worktree holding anything redeploy did not put there, with the two ways out. */
export function modifiedWorktreeError(ctx: PhaseContext, wt: string, ref: string, c: WorktreeChanges) {
  const parts: string[] = [];
  if (c.extraCommits.length > 0)
    parts.push(`commits not on origin/${ref}: ${c.extraCommits.slice(0, 10).join('; ')}`);
  if (c.changedFiles.length > 0) parts.push(`changed files: ${c.changedFiles.slice(0, 20).join(', ')}`);
  const clone = infraClone(ctx.config.omniHome);
  return new PhaseError(
    'WorktreeModified',
    `Worktree ${wt} holds changes redeploy did not make (${parts.join('; ')}); it would deploy them. ` +
      `Either remove it (git -C ${clone} worktree remove --force ${wt}) and retry, or start a new run with another --worktree-ticket.`,
    { retryable: false, details: { extra_commits: c.extraCommits, changed_files: c.changedFiles } },
  );
}

/** The pins DEPLOY expects, in currentPins' display form (`0.4.0`, `>=0.3.0,<0.5.0`, `unpinned`). */
export function pinsMismatch(dockerfile: string, expected: Record<string, string>): string[] {
  const found = currentPins(dockerfile, Object.keys(expected));
  return Object.entries(expected)
    .filter(([pkg, want]) => found[pkg] !== want)
    .map(([pkg, want]) => `${pkg} is ${found[pkg] ?? 'missing'}, expected ${want}`);
}

/** Fetch failures no retry will fix (no such branch, no such repository). */
const PERMANENT_FETCH =
  /couldn't find remote ref|does not appear to be a git repository|not a git repository|invalid refspec/i;

/**
 * `git fetch origin <ref>`, then the fetched commit: what origin has now, not what any local ref says.
 * Fails clearly when origin or the ref is unreachable.
 */
export async function fetchBase(ctx: PhaseContext, ref: string): Promise<string> {
  const { omniHome } = ctx.config;
  const clone = infraClone(omniHome);
  const spec = fetchRefCommand(omniHome, ref);
  const fetch = await ctx.run(
    { ...spec, args: ['--no-replace-objects', ...spec.args] },
    { timeoutMs: 5 * 60_000 },
  );
  if (fetch.exitCode !== 0) refuseUnsafe(unsafeRepository(fetch.stderr));
  if (fetch.exitCode !== 0) {
    throw new PhaseError(
      'OriginFetchFailed',
      `could not fetch origin/${ref} into ${clone} (${describeExit(fetch)}): ${tailText(fetch)}. ` +
        `Nothing was changed; check the network and that origin has a branch '${ref}' (--ref), then retry`,
      { retryable: !PERMANENT_FETCH.test(fetch.tail.join('\n')) },
    );
  }
  const base = await resolveCommit(ctx, clone, originRef(ref));
  if (!base)
    throw new PhaseError('OriginFetchFailed', `origin/${ref} not found after fetching it`, {
      retryable: false,
    });
  ctx.log(`[redeploy] ${ctx.phase}: origin/${ref} is ${base}`);
  return base;
}

/**
 * fetchBase started before the worktree is located (DEPLOY, INFISICAL: the fetch touches only the clone),
 * for verifyAtOrigin. `locate` failing waits for the fetch to end, so no git is left running.
 */
export async function fetchWhileLocating<T>(
  ctx: PhaseContext,
  ref: string,
  locate: () => Promise<T>,
): Promise<{ located: T; fetched: Promise<string> }> {
  checkRef(ref);
  const fetched = fetchBase(ctx, ref);
  fetched.catch(() => undefined); // awaited by verifyAtOrigin
  try {
    return { located: await locate(), fetched };
  } catch (err) {
    await fetched.catch(() => undefined);
    throw err;
  }
}

/** Removes files the repository ignores (caches, a planted `.venv`): nothing but origin's files stays. */
export async function removeIgnored(ctx: PhaseContext, wt: string): Promise<void> {
  const r = await git(ctx, ['-C', wt, 'clean', '-ffdX', '-q'], wt);
  if (r.exitCode !== 0)
    throw new PhaseError('WorktreeInvalid', `git clean -ffdX in ${wt} failed: ${r.tail.join(' ')}`, {
      retryable: true,
    });
}

/**
 * Before any worktree script runs (DEPLOY, INFISICAL, script-mode PIN_UPDATE): origin is fetched again,
 * the worktree holds no commit it lacks and no change but pin specifiers, HEAD is the commit WORKTREE
 * fetched (`baseCommit`) — or, without one (a run resumed from a state file), origin's tip itself —
 * and ignored files are removed.
 */
export async function verifyAtOrigin(
  ctx: PhaseContext,
  wt: string,
  ref: string,
  baseCommit: string | null | undefined,
  /** startFetch's promise, when the caller started the fetch before locating the worktree. */
  fetched?: Promise<string>,
): Promise<WorktreeChanges> {
  checkRef(ref);
  // The fetch and the worktree's local checks run together; everything that compares with origin waits
  // for the fetch, and a failed fetch is the error reported (as when it ran first).
  const tip = fetched ?? fetchBase(ctx, ref);
  tip.catch(() => undefined);
  const changes = await worktreeChanges(ctx, wt, ref, tip).catch(async (err: unknown) => {
    await tip; // the fetch's own failure first
    throw err;
  });
  if (changes.extraCommits.length > 0 || changes.changedFiles.length > 0)
    throw modifiedWorktreeError(ctx, wt, ref, changes);
  const expected = baseCommit ?? (await tip);
  if (changes.head !== expected) {
    throw new PhaseError(
      'WorktreeNotAtBase',
      `${wt} is at ${changes.head.slice(0, 12)}, not at ${baseCommit ? `the origin/${ref} commit WORKTREE fetched` : `origin/${ref}`} (${expected.slice(0, 12)}); nothing was run. ` +
        `Start a new run (another --worktree-ticket), or remove the worktree and resume`,
      { retryable: false },
    );
  }
  await removeIgnored(ctx, wt);
  return changes;
}
