import { formatVersions, type Versions } from './versions.js';

/**
 * Commands are data. One builder per phase step returns what to run; the activities execute exactly
 * this and the dry-run prints exactly this, so the two cannot drift. Paths are joined with "/" because
 * this module must stay free of Node built-ins (it is importable from workflow code).
 */
export interface CommandSpec {
  file: string;
  args: string[];
  cwd: string;
}

export const INFRA_REPO = 'omnibase_infra';
export const DOCKERFILE_REL = 'docker/Dockerfile.runtime';

export function joinPath(...parts: string[]): string {
  return parts.join('/').replace(/\/{2,}/g, '/');
}

export function infraClone(omniHome: string): string {
  return joinPath(omniHome, INFRA_REPO);
}

export function worktreePathFor(worktreeRoot: string, ticket: string): string {
  return joinPath(worktreeRoot, ticket, INFRA_REPO);
}

export function syncCommand(omniHome: string): CommandSpec {
  return { file: 'bash', args: [joinPath(omniHome, 'docs/tools/pull-all.sh')], cwd: omniHome };
}

/** The remote-tracking ref a worktree is based on: what origin has, never the clone's local branch. */
export function originRef(ref: string): string {
  return `refs/remotes/origin/${ref}`;
}

/**
 * Fetches exactly `<ref>` from origin into `origin/<ref>`. A fetch, not a pull: the clone's checked-out
 * branch (a feature branch, a local `main` with someone's commits) is neither changed nor used.
 */
export function fetchRefCommand(omniHome: string, ref: string): CommandSpec {
  return {
    file: 'git',
    args: [
      '-C',
      infraClone(omniHome),
      'fetch',
      '--no-tags',
      'origin',
      `+refs/heads/${ref}:${originRef(ref)}`,
    ],
    // git is told its repository with -C; its working directory is one no one else writes.
    cwd: '/',
  };
}

/**
 * New branches start at `startPoint`: the fetched commit of `origin/<ref>` (its SHA in a run, the ref's
 * name in the dry-run), whatever the clone has checked out. `newBranch` false re-attaches a branch left
 * by an interrupted earlier attempt instead of failing on `-b`.
 */
export function worktreeAddCommand(
  omniHome: string,
  path: string,
  ticket: string,
  startPoint: string,
  newBranch = true,
): CommandSpec {
  const branchArgs = newBranch ? ['--no-track', '-b', ticket, path, startPoint] : [path, ticket];
  return { file: 'git', args: ['-C', infraClone(omniHome), 'worktree', 'add', ...branchArgs], cwd: '/' };
}

export function pinScriptCommand(worktreePath: string, versions: Versions): CommandSpec {
  return {
    file: 'uv',
    args: [
      'run',
      'python',
      // Isolated from PYTHON* variables and the user site; see io/trusted-env.ts for why not -I.
      '-E',
      '-s',
      joinPath(worktreePath, 'scripts/update-plugin-pins.py'),
      '--versions',
      formatVersions(versions),
      '--dockerfile',
      joinPath(worktreePath, DOCKERFILE_REL),
    ],
    cwd: worktreePath,
  };
}

export function deployCommand(worktreePath: string, force: boolean): CommandSpec {
  return {
    file: './scripts/deploy-runtime.sh',
    args: ['--execute', '--restart', ...(force ? ['--force'] : [])],
    cwd: worktreePath,
  };
}

export const SYNC_ENV_SCRIPT = 'scripts/sync-omnibase-env.sh';
/** Today's wrapper (Python): forwards the env file's non-bootstrap keys to seed-infisical.py. */
export const SYNC_ENV_PY = 'scripts/sync-omnibase-env.py';
export const SEED_INFISICAL = 'scripts/seed-infisical.py';

/** Which INFISICAL script a tree offers, in the seed's preference order with today's `.py` second. */
export type InfisicalScript = typeof SYNC_ENV_SCRIPT | typeof SYNC_ENV_PY | typeof SEED_INFISICAL;

/**
 * `envFile`: the file redeploy read — the `.py` wrapper reads ~/.omnibase/.env unless told, and one env
 * file is the rule (the deploy script gets the same one).
 */
export function infisicalCommand(
  worktreePath: string,
  script: InfisicalScript,
  envFile: string,
): CommandSpec {
  if (script === SYNC_ENV_SCRIPT) return { file: 'bash', args: [SYNC_ENV_SCRIPT], cwd: worktreePath };
  if (script === SYNC_ENV_PY)
    return {
      file: 'uv',
      args: ['run', 'python', '-E', '-s', SYNC_ENV_PY, '--env-file', envFile],
      cwd: worktreePath,
    };
  return {
    file: 'uv',
    args: [
      'run',
      'python',
      '-E',
      '-s',
      SEED_INFISICAL,
      '--contracts-dir',
      'src/omnibase_infra/nodes',
      '--execute',
    ],
    cwd: worktreePath,
  };
}

/** `_cwd` is ignored (kept for callers): docker runs from `/`, never from OMNI_HOME. */
export function versionCheckCommand(container: string, packages: string[], _cwd?: string): CommandSpec {
  return { file: 'docker', args: ['exec', container, 'uv', 'pip', 'show', ...packages], cwd: '/' };
}

/** The running container's revision label (today's deploy-runtime.sh bakes it; VERIFY proves a promoted lane with it). */
export function imageRevisionCommand(container: string): CommandSpec {
  return {
    file: 'docker',
    args: ['inspect', '--format', '{{index .Config.Labels "org.opencontainers.image.revision"}}', container],
    // Like every command but pull-all.sh: a directory no one else writes (io/exec.ts refuses OMNI_HOME).
    cwd: '/',
  };
}

/** Shell-quoted rendering for display only (dry-run, logs). Never executed. */
export function formatCommand(spec: CommandSpec): string {
  const quote = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return [spec.file, ...spec.args].map(quote).join(' ');
}
