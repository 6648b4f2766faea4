import path from 'node:path';
import { readRegularFile } from './safe-read.js';
import fs from 'node:fs/promises';
import { runGit, UnsafeRepositoryError } from './git.js';
import {
  COMPOSE_REL,
  DEPLOY_SCRIPT_REL,
  DEV_LANE,
  POLICY_REL,
  composeRequired,
  resolveLane,
  scriptFacts,
  type LaneFacts,
  type RequiredVar,
} from '../core/lanes.js';
import {
  joinPath,
  SEED_INFISICAL,
  SYNC_ENV_PY,
  SYNC_ENV_SCRIPT,
  type InfisicalScript,
} from '../core/commands.js';
import { formatVersions, type Versions } from '../core/versions.js';
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
    return {
      label: `${clone} ${ref} (${commit.slice(0, 12)})`,
      read: async (rel) => {
        const s = await runGit(['-C', clone, 'show', `${commit}:${rel}`], {
          maxBuffer: MAX_FILE,
          untrustedDirs,
        });
        return s.exitCode === 0 ? s.stdout : undefined;
      },
    };
  }
  return undefined;
}

/** The effective environment the deploy script ends with: env file over runtime-policy.env over process. */
export interface DeployEnv {
  base: Record<string, string>;
  fileVars: Record<string, string>;
  fileExists: boolean;
  filePath: string;
}

export interface Needs {
  /** Every variable checked beyond the seed's, in order. */
  checked: string[];
  /** name → why it is needed (compose's message, or the script's rule). */
  missing: { name: string; why: string }[];
  /** null when the tree predates lanes and none was asked for. */
  lane: LaneFacts | null;
  /** A today tree: the script sources OMNIBASE_OPERATOR_ENV_FILE. */
  readsOperatorEnvFile: boolean;
  readback: boolean;
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
 * What DEPLOY will need from the environment, derived from the tree itself: its compose file's (and
 * the lane overlay's) `${VAR:?}` references minus what runtime-policy.env and the env file provide, the
 * script's INFRA_HOST-unless-HEALTH_CHECK_URL rule, and the env file it sources. A 2025 tree (no such
 * references, no policy) needs nothing beyond the seed's variables.
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
  const policy = parsePolicy(policyText);
  const lookup = (name: string): string | undefined =>
    env.fileVars[name] ?? provided[name] ?? policy?.[name] ?? env.base[name];
  const facts = resolveLane(lane ?? DEV_LANE, policy, lookup) ?? null;
  const required: RequiredVar[] = compose ? composeRequired(compose, COMPOSE_REL) : [];
  if (facts?.overlay) {
    const overlay = await tree.read(facts.overlay);
    if (overlay !== undefined) required.push(...composeRequired(overlay, facts.overlay));
  }
  const s = scriptFacts(script ?? '');
  const checked: string[] = [];
  const missing: Needs['missing'] = [];
  for (const v of required) {
    if (checked.includes(v.name)) continue;
    checked.push(v.name);
    const value = lookup(v.name);
    if (value === undefined || (v.nonEmpty && value === ''))
      missing.push({ name: v.name, why: `${v.file}: ${v.message || 'required'}` });
  }
  if (s.needsInfraHost) {
    checked.push('INFRA_HOST');
    if (!lookup('INFRA_HOST') && !lookup('HEALTH_CHECK_URL'))
      missing.push({
        name: 'INFRA_HOST',
        why: `${DEPLOY_SCRIPT_REL} needs INFRA_HOST (or HEALTH_CHECK_URL) for its own health check`,
      });
  }
  if (s.readsOperatorEnvFile && !env.fileExists)
    missing.push({
      name: 'env file',
      why: `${DEPLOY_SCRIPT_REL} sources ${env.filePath} (OMNIBASE_OPERATOR_ENV_FILE) and exits 64 without it`,
    });
  return {
    checked,
    missing,
    lane: facts,
    readsOperatorEnvFile: s.readsOperatorEnvFile,
    readback: s.readback,
  };
}

/** The first of sync-omnibase-env.sh (the seed's), sync-omnibase-env.py (today's), seed-infisical.py. */
export async function infisicalScript(dir: string): Promise<InfisicalScript> {
  for (const script of [SYNC_ENV_SCRIPT, SYNC_ENV_PY] as const) {
    if (
      await fs.stat(joinPath(dir, script)).then(
        (st) => st.isFile(),
        () => false,
      )
    )
      return script;
  }
  return SEED_INFISICAL;
}

/** OMNI_HOME: the script re-exports the operator's after sourcing its files (cold lanes, overlays need it). */
export function providedVars(
  env: Record<string, string | undefined>,
  omniHome: string,
): Record<string, string> {
  return { OMNI_HOME: env['OMNI_HOME'] || omniHome };
}

/**
 * The variables redeploy adds for deploy-runtime.sh (`env`: worker env + env file). One env file: the
 * script reads the one redeploy read (OMNIBASE_OPERATOR_ENV_FILE), so REDEPLOY_ENV_FILE elsewhere no
 * longer ends in exit 64.
 */
export function deployScriptEnv(
  env: Record<string, string | undefined>,
  envFilePath: string,
  omniHome: string,
  needs: Needs,
  lane: string | undefined,
  versions: Versions,
): Record<string, string> {
  const out: Record<string, string> = {
    ...providedVars(env, omniHome),
    OMNIBASE_OPERATOR_ENV_FILE: envFilePath,
  };
  if (lane && needs.lane) {
    out['ONEX_DEPLOY_LANE'] = needs.lane.lane;
    // The script picks the lane (overlay, container names) from the compose project, not ONEX_DEPLOY_LANE.
    out['OMNIBASE_INFRA_COMPOSE_PROJECT'] = needs.lane.project;
    // Its own health check defaults to port 8085 (the dev lane's runtime): point it at this lane's.
    const runtime = needs.lane.endpoints[needs.lane.runtimeContainer];
    if (needs.lane.lane !== 'dev' && runtime && !env['HEALTH_CHECK_URL']) out['HEALTH_CHECK_URL'] = runtime;
  }
  // The script's fail-closed read-back then checks the requested pins too (today's scripts only).
  if (needs.readback && Object.keys(versions).length > 0)
    out['READBACK_EXPECTED_VERSIONS'] = formatVersions(versions);
  return out;
}
