import { execa } from 'execa';
import type { CommandSpec } from '../core/commands.js';
import { trustedPath } from './trusted-env.js';

/**
 * The one way redeploy runs git. A clone under OMNI_HOME and the environment a worker starts from are
 * writable by people other than the operator, and git takes orders from both: hooks, an fsmonitor
 * program or a filter driver in the clone's config run code; `GIT_DIR`, `GIT_WORK_TREE`,
 * `GIT_CONFIG_*` in the environment point git at another repository or configuration. So every git
 * command gets:
 * - an environment without any of the process's `GIT_*` (only redeploy's own, below) and without
 *   `SUDO_UID` (git would then trust a repository owned by whoever ran sudo);
 * - `-c core.hooksPath=/dev/null -c core.fsmonitor=false`, no `ext::` transport, the plain
 *   `git-upload-pack`, no automatic maintenance or gc, and every filter driver the repository's config
 *   names emptied (a `smudge` or `process` filter would otherwise run on checkout and status);
 * - git's own `safe.directory` rule (CVE-2022-24765): a repository owned by another user is refused,
 *   never trusted on our behalf — the failure carries git's exact `git config --global --add
 *   safe.directory <path>` line.
 */

/** redeploy's own git environment: replace refs (`refs/replace/…`) never stand in for origin's objects. */
const OWN_ENV: Record<string, string> = { GIT_NO_REPLACE_OBJECTS: '1', GIT_TERMINAL_PROMPT: '0' };

/** Options set on every command. `/dev/null` as hooksPath: git 2.39 then finds no hook to run. */
export const GIT_HARDENING: readonly string[] = [
  '-c',
  'core.hooksPath=/dev/null',
  '-c',
  'core.fsmonitor=false',
  '-c',
  'protocol.ext.allow=never',
  '-c',
  'remote.origin.uploadpack=git-upload-pack',
  // No housekeeping after a fetch or commit (`git maintenance run --auto`, or `git gc --auto` before git
  // 2.29): one process fewer per fetch, never a gc stalling a phase on a large clone, and no maintenance
  // task the clone's config enables. The operator's own git commands still do it.
  '-c',
  'maintenance.auto=false',
  '-c',
  'gc.auto=0',
];

/** Any environment without the process's `GIT_*`: what every subprocess (scripts run git too) gets. */
export function withoutGitVars(base: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(base).filter(([k]) => !k.startsWith('GIT_')));
}

/** The process's environment without what steers git; `own` may add redeploy's own `GIT_*` only. */
export function gitEnv(
  base: Record<string, string>,
  own: Record<string, string> = {},
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) {
    if (k.startsWith('GIT_') || k === 'SUDO_UID') continue;
    env[k] = v;
  }
  for (const k of Object.keys(own)) {
    if (!k.startsWith('GIT_')) throw new Error(`gitEnv: ${k} is not a GIT_* variable`);
  }
  return { ...env, ...OWN_ENV, ...own };
}

/** The `-C <dir>` a command names, if any: the repository whose config decides the filter drivers. */
function repoOf(args: readonly string[]): string | undefined {
  const i = args.indexOf('-C');
  return i >= 0 ? args[i + 1] : undefined;
}

/** `-c filter.<name>.smudge=` … for every filter driver the repository's configuration names. */
async function filterOverrides(repo: string | undefined, env: Record<string, string>): Promise<string[]> {
  if (repo === undefined) return [];
  // Reading configuration runs nothing: no hook, no fsmonitor, no filter.
  const r = await execa(
    'git',
    [...GIT_HARDENING, '-C', repo, 'config', '--name-only', '--get-regexp', '^filter\\.'],
    { env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 10_000, cwd: '/' },
  );
  const names = new Set<string>();
  for (const line of String(r.stdout).split('\n')) {
    const m = /^filter\.(.+)\.[^.]+$/.exec(line.trim());
    if (m?.[1]) names.add(m[1]);
  }
  return [...names].flatMap((n) =>
    ['clean=', 'smudge=', 'process=', 'required=false'].flatMap((kv) => ['-c', `filter.${n}.${kv}`]),
  );
}

/**
 * The options each object-reading subcommand may carry, spelled exactly (git also takes unique prefixes
 * of long options — `--filter` for `--filters`, `--dirt` for `--dirty` — so a denylist would not hold).
 * A `*` entry takes any `=value`. Anything else, and any `--`, keeps the full hardening.
 */
const READ_ONLY_OPTIONS: Record<string, readonly string[]> = {
  'rev-parse': [
    '--verify',
    '--quiet',
    '-q',
    '--show-toplevel',
    '--git-dir',
    '--git-common-dir',
    '--path-format=*',
    '--abbrev-ref',
    '--symbolic-full-name',
  ],
  describe: ['--tags', '--abbrev=*', '--match'],
  // `--batch` exactly (objects named on stdin, printed as stored); `--batch=<format>`, `--batch-all-objects`
  // and `--batch-command` are other options and keep the hardening.
  'cat-file': ['-p', '-t', '-e', '-s', '--batch'],
  'for-each-ref': ['--format=*', '--sort=*'],
  tag: ['--list', '-l', '--points-at', '--sort=*'],
  show: [],
};
/** Options above that take the next argument as their value. */
const TAKES_VALUE = new Set(['--match', '--points-at']);

/**
 * Subcommands that write no work-tree file and read none's content, so no filter driver can run either
 * (issue 23: the worktree checks before each script made a `git config` spawn per call): history and
 * counts (`log`, `rev-list` print no diff with these options), a throwaway index filled from a tree
 * (`read-tree` without `-u`/`-m`: the work tree is untouched), that index against a tree (`diff-index`
 * only with `--cached`: without it git would hash work-tree files, through the clean filter), names of
 * untracked files (`ls-files`: a directory listing), the worktree's branch, `remote get-url`, `ls-remote`,
 * `worktree prune` and `clean -ffdX` (removes ignored files by name). Same exact-option rule as
 * READ_ONLY_OPTIONS. `add`, `status`, `checkout`, `merge`, `fetch`, `worktree add` … keep the overrides.
 */
const NO_FILTER_OPTIONS: Record<string, readonly string[]> = {
  log: ['--format=*'],
  'rev-list': ['--count'],
  'read-tree': [],
  'diff-index': ['--cached', '-z', '--no-renames', '--name-status'],
  'ls-files': ['-z', '--others', '--exclude-per-directory=*'],
  branch: ['--show-current'],
  // origin's URL, its advertised refs, a stale worktree registration removed: no file content at all.
  remote: [],
  'ls-remote': ['--symref'],
  worktree: [],
  // Removes untracked (here: ignored) files by name; never reads or converts a file's content.
  clean: ['-ffdX', '-q'],
};

function allowedOption(sub: string, arg: string, table = READ_ONLY_OPTIONS): boolean {
  const allowed = table[sub] ?? [];
  return allowed.some((o) => (o.endsWith('=*') ? arg.startsWith(o.slice(0, -1)) : arg === o));
}

/**
 * The subcommand of `git <args>` and what follows it, when it is one of `table`'s; undefined otherwise,
 * or when a global option other than `-C dir` / `-c k=v` (each takes a value) comes before it.
 */
function subcommandOf(
  args: readonly string[],
  table: Record<string, readonly string[]>,
): { sub: string; rest: readonly string[] } | undefined {
  let i = 0;
  while (i < args.length && args[i]?.startsWith('-')) {
    if (args[i] !== '-C' && args[i] !== '-c') return undefined;
    i += 2;
  }
  const sub = args[i];
  return sub !== undefined && Object.hasOwn(table, sub) ? { sub, rest: args.slice(i + 1) } : undefined;
}

/**
 * True when `args` only reads objects and refs, so no filter driver can run: filters convert a work tree's
 * files (checkout, add, status, diff against the work tree), never an object read by name. Such a command
 * skips the `git config` spawn of filterOverrides (issue 23: a dry run made 8 of them). Only the
 * subcommands and exact options of READ_ONLY_OPTIONS count; `show` only as `show REV:PATH` (a blob,
 * printed as stored) and `tag` only with `--list`; anything else keeps the full hardening.
 */
export function readsObjectsOnly(args: readonly string[]): boolean {
  const split = subcommandOf(args, READ_ONLY_OPTIONS);
  if (!split) return false;
  const { sub, rest } = split;
  const operands: string[] = [];
  for (let j = 0; j < rest.length; j++) {
    const a = rest[j] as string;
    if (a === '--') return false;
    if (!a.startsWith('-')) operands.push(a);
    else if (!allowedOption(sub, a)) return false;
    else if (TAKES_VALUE.has(a)) j++;
  }
  if (sub === 'tag') return rest.includes('--list') || rest.includes('-l');
  if (sub === 'show') return operands.length > 0 && operands.every((a) => /^[^:-][^:]*:./.test(a));
  return true;
}

/**
 * True when `args` can run no filter driver: readsObjectsOnly, or one of NO_FILTER_OPTIONS' subcommands
 * with only its exact options (`diff-index` only with `--cached`, `branch` only as `--show-current`,
 * `remote` only as `get-url NAME`, `worktree` only as `prune`).
 */
export function runsNoFilter(args: readonly string[]): boolean {
  if (readsObjectsOnly(args)) return true;
  const split = subcommandOf(args, NO_FILTER_OPTIONS);
  if (!split) return false;
  const { sub, rest } = split;
  for (const a of rest) {
    if (a === '--') return false;
    if (a.startsWith('-') && !allowedOption(sub, a, NO_FILTER_OPTIONS)) return false;
  }
  if (sub === 'diff-index') return rest.includes('--cached');
  if (sub === 'branch') return rest.length === 1;
  if (sub === 'remote') return rest.length === 2 && rest[0] === 'get-url';
  if (sub === 'worktree') return rest.length === 1 && rest[0] === 'prune';
  return true;
}

/** argv for `git <args>` with the hardening (and, unless it can run no filter, the filter drivers emptied). */
export async function gitArgv(args: readonly string[], env: Record<string, string>): Promise<string[]> {
  const filters = runsNoFilter(args) ? [] : await filterOverrides(repoOf(args), env);
  return [...GIT_HARDENING, ...filters, ...args];
}

/** A git CommandSpec (fetch, worktree add) made ready for io/exec.ts: hardened argv and environment. */
export async function hardenGitSpec(
  spec: CommandSpec,
  env: Record<string, string>,
): Promise<{ spec: CommandSpec; env: Record<string, string> }> {
  const clean = gitEnv(env);
  return { spec: { ...spec, args: await gitArgv(spec.args, clean) }, env: clean };
}

/** Where git refused a repository owned by someone else, and the exact line that allows it. */
export interface UnsafeRepository {
  path: string;
  allow: string;
}

/** git's own "dubious ownership" refusal, parsed from its stderr. */
export function unsafeRepository(stderr: string): UnsafeRepository | undefined {
  const m = /detected dubious ownership in repository at '([^'\n]*)'/.exec(stderr);
  if (!m?.[1]) return undefined;
  const line = /^\s*(git config --global --add safe\.directory .+)$/m.exec(stderr)?.[1]?.trim();
  return { path: m[1], allow: line ?? `git config --global --add safe.directory ${m[1]}` };
}

/** One sentence for the operator: whose repository, why it is refused, the line that allows it. */
export function unsafeRepositoryMessage(u: UnsafeRepository): string {
  return (
    `git refuses ${u.path}: it is owned by another user (git's safe.directory rule); redeploy runs ` +
    `nothing from it. If you trust that user's repository, allow it with: ${u.allow}`
  );
}

/** Thrown where a caller has no phase to fail (ENV_CHECK's tree reads, --versions auto): the same refusal. */
export class UnsafeRepositoryError extends Error {
  constructor(readonly unsafe: UnsafeRepository) {
    super(unsafeRepositoryMessage(unsafe));
    this.name = 'UnsafeRepositoryError';
  }
}

export interface GitRunOptions {
  /** The environment to start from (the worker's): its GIT_* are dropped. */
  env?: Record<string, string>;
  /** redeploy's own GIT_* (a throwaway GIT_INDEX_FILE). */
  own?: Record<string, string>;
  /** A directory redeploy controls; every command names its repository with `-C`. */
  cwd?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  maxBuffer?: number;
  /** Directories others write (OMNI_HOME): no `git` is looked up there. */
  untrustedDirs?: readonly string[];
  /** Written to git's stdin (`cat-file --batch`'s object names); stdin is closed otherwise. */
  input?: string;
}

export interface GitOutput<Out = string> {
  exitCode: number | undefined;
  /**
   * Exactly what git printed (no trimming: `git show` bytes matter); bytes with `encoding: 'buffer'`. Over
   * `maxBuffer` only its first bytes, and `exitCode` is undefined (cat-file --batch's headers say what fit).
   */
  stdout: Out;
  stderr: string;
  /** Set when git refused the repository for its owner. */
  unsafe: UnsafeRepository | undefined;
}

function stringEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(
    Object.entries(env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
}

/** Runs `git <args>` hardened. Never throws for git's exit status; callers decide. */
export async function runGit(args: readonly string[], opts?: GitRunOptions): Promise<GitOutput>;
/** The same, stdout as bytes (`cat-file --batch` counts its objects' sizes in bytes). */
export async function runGit(
  args: readonly string[],
  opts: GitRunOptions & { encoding: 'buffer' },
): Promise<GitOutput<Uint8Array>>;
export async function runGit(
  args: readonly string[],
  opts: GitRunOptions & { encoding?: 'buffer' } = {},
): Promise<GitOutput<string | Uint8Array>> {
  const base = opts.env ?? stringEnv(process.env);
  // The same PATH rule as every other command (io/trusted-env.ts): a planted OMNI_HOME/git never runs.
  const env = gitEnv({ ...base, PATH: trustedPath(base['PATH'], opts.untrustedDirs) }, opts.own);
  const maxBuffer = opts.maxBuffer ?? 16 * 1024 * 1024;
  const r = await execa('git', await gitArgv(args, env), {
    // `/`: a directory no one else writes, so nothing is looked up relative to the caller's cwd.
    cwd: opts.cwd ?? '/',
    env,
    extendEnv: false,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    ...(opts.encoding ? { encoding: opts.encoding } : {}),
    reject: false,
    stripFinalNewline: false,
    timeout: opts.timeoutMs ?? 60_000,
    ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    maxBuffer,
  });
  // With `encoding: 'buffer'` both streams are bytes: stderr is decoded as execa decodes text (UTF-8).
  const text = (x: unknown) =>
    typeof x === 'string' ? x : x instanceof Uint8Array ? Buffer.from(x).toString('utf8') : '';
  // Over the limit, execa cuts the output off and keeps git's exit status (often 0): a read that did not
  // fit is no read (a file cut at the limit must not parse as the whole file), so it fails like an error.
  const overflow = r.isMaxBuffer === true;
  const stderr =
    text(r.stderr) +
    (overflow ? `[redeploy] git printed more than ${maxBuffer} bytes: output not used\n` : '');
  return {
    exitCode: overflow ? undefined : r.exitCode,
    stdout: opts.encoding ? (r.stdout instanceof Uint8Array ? r.stdout : new Uint8Array()) : text(r.stdout),
    stderr,
    unsafe: unsafeRepository(stderr),
  };
}
