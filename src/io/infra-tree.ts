import path from 'node:path';
import { readRegularFile } from './safe-read.js';
import fs from 'node:fs/promises';
import { runGit, UnsafeRepositoryError } from './git.js';
import { COMPOSE_REL, DEPLOY_SCRIPT_REL, POLICY_REL } from '../core/lanes.js';
import { DOCKERFILE_REL, joinPath, type InfisicalScript } from '../core/commands.js';
import { INFISICAL_SCRIPTS, deployLane, planDeployNeeds, type DeployEnv, type Needs } from '../core/plan.js';
import { parseEnvFile } from './env-file.js';

/** Reads one file of an omnibase_infra tree; undefined when the tree has no such file. */
export type TreeReader = (rel: string) => Promise<string | undefined>;
export interface Tree {
  read: TreeReader;
  /** Where the files come from, for messages: a directory or `<clone> <ref>`. */
  label: string;
  /** The commit a ref's tree is read from (none for a directory). */
  commit?: string;
}

const MAX_FILE = 4 * 1024 * 1024;

/**
 * The files the run policy and the dry run read from origin/<ref>'s tree (deployNeeds' three, the
 * Dockerfile of the pin diff): read together, by the one git of the tree's first read.
 */
export const PLAN_FILES: readonly string[] = [DEPLOY_SCRIPT_REL, COMPOSE_REL, POLICY_REL, DOCKERFILE_REL];

export function dirTree(dir: string): Tree {
  return {
    label: dir,
    read: async (rel) => {
      // Only regular files of sane size, read without blocking (a FIFO swapped in is refused, not
      // waited on): these files steer what is required and where VERIFY looks.
      return readRegularFile(joinPath(dir, rel), { maxBytes: MAX_FILE }).catch(() => undefined);
    },
  };
}

/**
 * A commit's tree in the clone, read with `git cat-file --batch` — ENV_CHECK runs before WORKTREE, so
 * the files the worktree will have are read from the ref it will be based on. Reads asked for together
 * (and `prefetch`, with the first of them) share one git: issue 23, a dry run made one `git show` per
 * file.
 */
export async function refTree(
  clone: string,
  refs: string[],
  /** The environment git starts from (a phase's); default the process's. */
  env?: Record<string, string>,
  /** Files read with the first read (the run policy reads the script; the dry run then the rest). */
  prefetch: readonly string[] = [],
): Promise<Tree | undefined> {
  for (const ref of refs) {
    // The clone sits in OMNI_HOME: no `git` is looked up there.
    const untrustedDirs = [path.dirname(clone)];
    const opts = { untrustedDirs, ...(env ? { env } : {}) };
    const r = await runGit(['-C', clone, 'rev-parse', '--verify', '--quiet', `${ref}^{commit}`], opts);
    if (r.unsafe) throw new UnsafeRepositoryError(r.unsafe);
    if (r.exitCode !== 0) continue;
    const commit = r.stdout.trim();
    // A commit's files never change: each is read once per tree (the dry run and the run policy both
    // read the deploy script).
    const read = new Map<string, Promise<string | undefined>>();
    let queue: string[] | undefined;
    let batch: Promise<Map<string, string | undefined>> = Promise.resolve(new Map());
    let first = true;
    const enqueue = (rel: string) => {
      if (!queue) {
        const q: string[] = (queue = []);
        // Every read asked for in this turn of the event loop joins the batch (Promise.all of three).
        batch = Promise.resolve().then(() => {
          queue = undefined;
          return readBlobs(clone, commit, q, opts);
        });
      }
      queue.push(rel);
      const text = batch.then((m) => m.get(rel));
      read.set(rel, text);
      return text;
    };
    return {
      label: `${clone} ${ref} (${commit.slice(0, 12)})`,
      commit,
      read: (rel) => {
        const known = read.get(rel);
        if (known) return known;
        const text = enqueue(rel);
        if (first) {
          first = false;
          // Read along, maybe never asked for: a failure shows when (if) one is.
          for (const p of prefetch) if (!read.has(p)) enqueue(p).catch(() => undefined);
        }
        return text;
      },
    };
  }
  return undefined;
}

/**
 * `<commit>:<rel>` for each of `rels`, with one `git cat-file --batch`: each object comes back as
 * `<oid> <type> <size>\n<bytes>\n`, or `<name> missing\n`. A blob over MAX_FILE is no file (as dirTree
 * refuses one); what is not a blob, or a name cat-file's line protocol cannot carry, is read with
 * `git show` as before (a directory prints its listing).
 */
async function readBlobs(
  clone: string,
  commit: string,
  rels: readonly string[],
  opts: { untrustedDirs: string[]; env?: Record<string, string> },
): Promise<Map<string, string | undefined>> {
  const out = new Map<string, string | undefined>();
  const show = async (rel: string) => {
    const s = await runGit(['-C', clone, 'show', `${commit}:${rel}`], { ...opts, maxBuffer: MAX_FILE });
    return s.exitCode === 0 ? s.stdout : undefined;
  };
  const other: string[] = [];
  let todo = rels.filter((rel) => (/[\r\n]/.test(rel) ? other.push(rel) && false : true));
  while (todo.length > 0) {
    const r = await runGit(['-C', clone, 'cat-file', '--batch'], {
      ...opts,
      input: todo.map((rel) => `${commit}:${rel}\n`).join(''),
      encoding: 'buffer',
      // Room for each object at its limit: a longer one is cut off, its size (in its header) says so.
      maxBuffer: todo.length * (MAX_FILE + 256),
    });
    const buf = Buffer.from(r.stdout.buffer, r.stdout.byteOffset, r.stdout.byteLength);
    let at = 0;
    let done = 0;
    for (const rel of todo) {
      const eol = buf.indexOf(10, at);
      if (eol < 0) break;
      const header = buf.toString('utf8', at, eol);
      if (header === `${commit}:${rel} missing`) {
        out.set(rel, undefined);
        at = eol + 1;
        done++;
        continue;
      }
      const m = /^[0-9a-f]+ ([a-z]+) (\d+)$/.exec(header);
      if (!m) break;
      const size = Number(m[2]);
      const end = eol + 1 + size;
      const cut = end + 1 > buf.length;
      if (size > MAX_FILE) out.set(rel, undefined);
      // Cut off after an object that took the room: read again in the next round.
      else if (cut) break;
      else if (m[1] !== 'blob') other.push(rel);
      // Decoded as execa decodes `git show`'s output (a StringDecoder: a BOM stays, bad bytes become U+FFFD).
      else out.set(rel, buf.toString('utf8', eol + 1, end));
      done++;
      if (cut) break;
      at = end + 1;
    }
    // Nothing understood: git failed (the repository or the commit), every file reads as missing.
    if (done === 0) break;
    todo = todo.slice(done);
  }
  for (const rel of todo) out.set(rel, undefined);
  const shown = await Promise.all(other.map(show));
  other.forEach((rel, i) => out.set(rel, shown[i]));
  return out;
}

function parsePolicy(text: string | undefined): Record<string, string> | undefined {
  if (text === undefined) return undefined;
  try {
    return parseEnvFile(text, POLICY_REL);
  } catch {
    return {}; // a policy this parser cannot read still tells us lanes exist; ports then come from the env
  }
}

/**
 * What DEPLOY will need (core/plan.ts's planDeployNeeds) over a tree: its compose file, policy and
 * script, then the overlay of the lane they resolve — read only once the lane name is known valid.
 */
export async function deployNeeds(
  tree: Tree,
  env: DeployEnv,
  lane: string | undefined,
  provided: Record<string, string> = {},
): Promise<Needs> {
  const [compose, policyText, script] = await Promise.all([
    tree.read(COMPOSE_REL),
    tree.read(POLICY_REL),
    tree.read(DEPLOY_SCRIPT_REL),
  ]);
  const input = { env, lane, provided, policy: parsePolicy(policyText) };
  const overlayRel = deployLane(input)?.overlay;
  const overlay = overlayRel ? await tree.read(overlayRel) : undefined;
  return planDeployNeeds(input, { compose, script, overlay });
}

/** Which of INFISICAL's scripts `dir` holds as regular files (the plan picks among them). */
export async function infisicalScriptsIn(dir: string): Promise<InfisicalScript[]> {
  const isFile = (script: InfisicalScript) =>
    fs.stat(joinPath(dir, script)).then(
      (st) => st.isFile(),
      () => false,
    );
  const found = await Promise.all(INFISICAL_SCRIPTS.map(isFile));
  return INFISICAL_SCRIPTS.filter((_, i) => found[i]);
}
