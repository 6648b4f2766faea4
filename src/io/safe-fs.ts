import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { writeFileAtomic } from './atomic.js';

/**
 * The one layer every write redeploy makes to its own directories goes through (state files, skill
 * results, reports, phase logs and .pgid files, the embedded server's directory). redeploy runs as root
 * over directories other users may be able to write, so, like OpenSSH's StrictModes:
 * - every directory from the one a variable names (REDEPLOY_STATE_DIR …) down is a real directory (never
 *   a symlink), owned by the user redeploy runs as, and not writable by group or others;
 * - every directory above it is owned by root or that user and not writable by group or others, unless it
 *   is sticky (/tmp): otherwise its owner could swap the tree below for a link between check and write;
 * - files are opened with O_NOFOLLOW (appends) or created exclusively (O_EXCL: new files, temp files);
 * - nothing is chmod-ed except what was just created; an existing directory is refused, never "fixed".
 * With the directories checked, no other user can plant or swap a name inside them after the check.
 */

/** Which variable moves each directory, named in every refusal. */
export type DirVariable = 'REDEPLOY_STATE_DIR' | 'REDEPLOY_LOG_DIR' | 'REDEPLOY_SKILL_RESULTS_DIR';

export class UnsafeDirError extends CliError {
  constructor(
    readonly dir: string,
    readonly problem: string,
    readonly fix: string,
    verb = 'refusing',
  ) {
    // One line: what, why, and the fix (a command, or the variable that moves the directory).
    super(`redeploy: ${verb} ${dir}: ${problem}. ${fix}`, EXIT_USAGE);
  }
}

const euid = (): number => process.geteuid?.() ?? -1;

function userName(uid: number): string {
  if (uid === euid()) return os.userInfo().username;
  // /etc/passwd, for a readable name in the message only.
  try {
    for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (Number(id) === uid && name) return name;
    }
  } catch {
    // no passwd file: the number alone
  }
  return `uid ${uid}`;
}

const modeText = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** Creating a directory failed for a reason the operator fixes by moving it (read-only, full, no access). */
function cannotCreate(
  dir: string,
  err: NodeJS.ErrnoException,
  variable: DirVariable,
  at?: string,
): UnsafeDirError {
  const why =
    err.code === 'EROFS'
      ? 'read-only file system'
      : err.code === 'ENOSPC' || err.code === 'EDQUOT'
        ? 'no space left'
        : err.code === 'EACCES' || err.code === 'EPERM'
          ? 'permission denied'
          : (err.code ?? err.message);
  return new UnsafeDirError(
    dir,
    `${err.code ?? 'error'} (${why}${at && at !== dir ? ` at ${at}` : ''})`,
    `Set ${variable} to a writable directory`,
    'cannot create',
  );
}

/** An ancestor above redeploy's own directory: root's or ours, and nobody else can rename inside it. */
function checkAncestor(dir: string, st: fs.Stats, variable: DirVariable): void {
  const me = euid();
  if (me < 0) return; // no uids (Windows): nothing to compare
  if (st.uid !== 0 && st.uid !== me)
    throw new UnsafeDirError(
      dir,
      `it is owned by ${userName(st.uid)}, who could replace what redeploy writes below it`,
      `Set ${variable} to a directory whose every parent belongs to root${me === 0 ? '' : ` or ${userName(me)}`}`,
    );
  const sticky = (st.mode & 0o1000) !== 0;
  if ((st.mode & 0o022) !== 0 && !sticky)
    throw new UnsafeDirError(
      dir,
      `it is writable by group or others (mode ${modeText(st.mode)}), who could replace what redeploy writes below it`,
      `Run \`chmod go-w ${dir}\`, or set ${variable} to a directory of your own`,
    );
}

/** redeploy's own directory: a real directory, ours, writable by nobody else. */
function checkOwned(dir: string, st: fs.Stats, variable: DirVariable): void {
  const me = euid();
  // Only when refusing: userName reads the user database (getpwuid), and this runs for every log line.
  const fixOwner = () =>
    `Run \`chown ${me < 0 ? '' : userName(me)} ${dir} && chmod go-w ${dir}\` if its content is yours, or set ${variable} to a directory of your own`;
  if (st.isSymbolicLink())
    throw new UnsafeDirError(
      dir,
      'it is a symbolic link; redeploy writes only into real directories',
      `Remove the link (\`rm ${dir}\`) or set ${variable} to the directory it should be`,
    );
  if (!st.isDirectory())
    throw new UnsafeDirError(dir, 'it is not a directory', `Remove it or set ${variable} elsewhere`);
  if (me >= 0 && st.uid !== me)
    throw new UnsafeDirError(
      dir,
      `it is owned by ${userName(st.uid)}, not by ${userName(me)} who runs redeploy`,
      fixOwner(),
    );
  if ((st.mode & 0o022) !== 0)
    throw new UnsafeDirError(
      dir,
      `it is writable by group or others (mode ${modeText(st.mode)})`,
      `Run \`chmod go-w ${dir}\`, or set ${variable} to a directory of your own`,
    );
}

function lstatOrUndefined(p: string): fs.Stats | undefined {
  try {
    return fs.lstatSync(p);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** mkdir of one level, 0700; false when something is already there (checked by the caller). */
function mkdirOne(dir: string, variable: DirVariable, named = dir): boolean {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
    return true;
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'EEXIST') return false;
    throw cannotCreate(named, e, variable, dir);
  }
}

/**
 * Makes sure `dir` (`root` or below it) exists as a safe directory redeploy may write into, creating the
 * missing levels 0700. `root` is the directory a variable names (the state dir, the log dir …); its
 * parents are checked as ancestors, it and everything down to `dir` as redeploy's own.
 * Synchronous: a handful of lstat calls, used from sync and async callers alike.
 */
export function ensureOwnedDir(root: string, dir: string, variable: DirVariable): string {
  const absRoot = path.resolve(root);
  const absDir = path.resolve(dir);
  const rel = path.relative(absRoot, absDir);
  if (rel.startsWith('..') || path.isAbsolute(rel))
    throw new Error(`internal: ${absDir} is not under ${absRoot}`);
  // Ancestors: the deepest existing parent, through its real path (a symlinked HOME is fine when the
  // link and its target are root's or ours), then every level of that real path up to /.
  const missing: string[] = [];
  let parent = path.dirname(absRoot);
  while (!lstatOrUndefined(parent)) {
    missing.unshift(parent);
    const up = path.dirname(parent);
    if (up === parent) break;
    parent = up;
  }
  let real: string;
  try {
    real = fs.realpathSync(parent);
  } catch (err) {
    throw cannotCreate(absRoot, err as NodeJS.ErrnoException, variable, parent);
  }
  for (let p = real; ; p = path.dirname(p)) {
    checkAncestor(p, fs.statSync(p), variable);
    if (path.dirname(p) === p) break;
  }
  // Links in the unresolved parent path: each must sit in a checked directory, which it does once the
  // real path is checked; the levels we create now are ours.
  for (const m of missing) {
    mkdirOne(m, variable, absRoot);
    const st = fs.lstatSync(m);
    if (st.isSymbolicLink() || !st.isDirectory()) checkOwned(m, st, variable);
    checkAncestor(m, st, variable);
  }
  let p = absRoot;
  const levels = rel === '' ? [] : rel.split(path.sep);
  for (let i = 0; ; i++) {
    let st = lstatOrUndefined(p);
    if (!st) {
      mkdirOne(p, variable);
      st = fs.lstatSync(p);
    }
    checkOwned(p, st, variable);
    const next = levels[i];
    if (next === undefined) break;
    p = path.join(p, next);
  }
  return absDir;
}

/**
 * Checks each of redeploy's directories (creating what is missing) and that a file can be made in it,
 * before anything starts: a read-only HOME is one line naming the directory and the variable, not a run
 * that cannot be followed.
 */
export function preflightDirs(dirs: { root?: string; dir: string; variable: DirVariable }[]): void {
  for (const { root, dir, variable } of dirs) {
    ensureOwnedDir(root ?? dir, dir, variable);
    const probe = path.join(dir, `.redeploy-probe-${process.pid}-${Date.now()}`);
    try {
      fs.closeSync(fs.openSync(probe, 'wx', 0o600));
      fs.rmSync(probe, { force: true });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UnsafeDirError(
        dir,
        `${e.code ?? 'error'} (cannot write in it)`,
        `Set ${variable} to a writable directory`,
        'cannot use',
      );
    }
  }
}

/** The fstat checks on a descriptor redeploy is about to write: a regular file of ours, one name only. */
function checkOpenedFile(fd: number, file: string): void {
  const st = fs.fstatSync(fd);
  const me = euid();
  let problem: string | undefined;
  if (!st.isFile()) problem = 'it is not a regular file';
  else if (me >= 0 && st.uid !== me) problem = `it is owned by ${userName(st.uid)}`;
  // A hard link to a file elsewhere (planted before the directory was ours) would be written through.
  else if (st.nlink > 1) problem = `it has ${st.nlink} hard links`;
  if (problem) {
    fs.closeSync(fd);
    throw new UnsafeDirError(file, problem, `Remove it; redeploy makes a new one`);
  }
}

const APPEND_FLAGS =
  fs.constants.O_WRONLY |
  fs.constants.O_APPEND |
  fs.constants.O_CREAT |
  fs.constants.O_NOFOLLOW |
  // A FIFO planted here must not block the open (it is then refused by the fstat check).
  fs.constants.O_NONBLOCK;

/**
 * Opens `file` (in a directory checked by ensureOwnedDir) for appending, created 0600 when new: never
 * through a symlink, never a FIFO, device, hard-linked or foreign file. Returns the descriptor.
 */
export function openAppendSafe(file: string): number {
  let fd: number;
  try {
    fd = fs.openSync(file, APPEND_FLAGS, 0o600);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ELOOP')
      throw new UnsafeDirError(file, 'it is a symbolic link', 'Remove it; redeploy makes a new one');
    if (e.code === 'ENXIO')
      throw new UnsafeDirError(file, 'it is not a regular file', 'Remove it; redeploy makes a new one');
    throw err;
  }
  checkOpenedFile(fd, file);
  return fd;
}

/** Appends `text` to `file` with openAppendSafe's rules (open, write, close: one line at a time). */
export function appendFileSafe(file: string, text: string): void {
  const fd = openAppendSafe(file);
  try {
    fs.writeSync(fd, text);
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes a small file anew: whatever name is there (a stale file, or a link planted at it) is removed —
 * unlinking a link never touches its target — and the file is created exclusively (O_EXCL never
 * follows a link), 0600.
 */
export async function writeNewFileSafe(file: string, data: string): Promise<void> {
  await fs.promises.rm(file, { force: true });
  const handle = await fs.promises.open(file, 'wx', 0o600);
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}

/** Checks an existing file redeploy will hand to another program by name (the dev server's database). */
export function checkExistingFile(file: string): void {
  const st = lstatOrUndefined(file);
  if (!st) return;
  const me = euid();
  const problem = st.isSymbolicLink()
    ? 'it is a symbolic link'
    : !st.isFile()
      ? 'it is not a regular file'
      : me >= 0 && st.uid !== me
        ? `it is owned by ${userName(st.uid)}`
        : st.nlink > 1
          ? `it has ${st.nlink} hard links`
          : undefined;
  if (problem)
    throw new UnsafeDirError(
      file,
      problem,
      'Move it away (redeploy will not write through it) and run again',
    );
}

/** writeFileAtomic into redeploy's own directory `dir` (root `root`): the directory is checked first. */
export async function writeOwnedFile(
  root: string,
  file: string,
  data: string,
  variable: DirVariable,
): Promise<string> {
  ensureOwnedDir(root, path.dirname(file), variable);
  await writeFileAtomic(file, data, 0o600);
  return file;
}
