import path from 'node:path';
import { readRegularFile } from './safe-read.js';
import fs from 'node:fs/promises';
import { runGit, UnsafeRepositoryError } from './git.js';
import { COMPOSE_REL, DEPLOY_SCRIPT_REL, POLICY_REL } from '../core/lanes.js';
import { joinPath, type InfisicalScript } from '../core/commands.js';
import { INFISICAL_SCRIPTS, deployLane, planDeployNeeds, type DeployEnv, type Needs } from '../core/plan.js';
import { parseEnvFile } from './env-file.js';

/** Reads one file of an omnibase_infra tree; undefined when the tree has no such file. */
export type TreeReader = (rel: string) => Promise<string | undefined>;
export interface Tree {
  read: TreeReader;
  /** Where the files come from, for messages: a directory or `<clone> <ref>`. */
  label: string;
}

const MAX_FILE = 4 * 1024 * 1024;

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
 * A commit's tree in the clone, read with `git show <ref>:<path>` — ENV_CHECK runs before WORKTREE,
 * so the files the worktree will have are read from the ref it will be based on.
 */
export async function refTree(
  clone: string,
  refs: string[],
  /** The environment git starts from (a phase's); default the process's. */
  env?: Record<string, string>,
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
    const show = async (rel: string) => {
      // The same environment as the rev-parse above (a phase's, when one was given), bounded in size.
      const s = await runGit(['-C', clone, 'show', `${commit}:${rel}`], { ...opts, maxBuffer: MAX_FILE });
      return s.exitCode === 0 ? s.stdout : undefined;
    };
    return {
      label: `${clone} ${ref} (${commit.slice(0, 12)})`,
      read: (rel) => {
        let text = read.get(rel);
        if (!text) read.set(rel, (text = show(rel)));
        return text;
      },
    };
  }
  return undefined;
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
