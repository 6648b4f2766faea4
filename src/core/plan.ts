/**
 * What a run will do, decided once: the lane, what DEPLOY needs from the environment, what the deploy
 * script is handed, where VERIFY looks, which variables ENV_CHECK requires and which INFISICAL script
 * runs. Pure functions over text and values (no Node built-ins): the activities execute these plans
 * and the dry-run prints the very same ones (the pin plan is core/pin-policy.ts's `planPins`).
 */
import type { Config } from '../io/config.js';
import { SEED_INFISICAL, SYNC_ENV_PY, SYNC_ENV_SCRIPT, type InfisicalScript } from './commands.js';
import { INFISICAL_ENV, REQUIRED_ENV } from './env-vars.js';
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
} from './lanes.js';
import { formatVersions, type Versions } from './versions.js';

/** An environment as the phases see it: the worker's (or the CLI's) plus the env file over it. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The lane a run deploys: `--lane` (the run's input), else ONEX_DEPLOY_LANE of `env`. An empty value
 * counts as unset: the dev lane's facts then come from the tree.
 */
export function chosenLane(flag: string | undefined, env: Env): string | undefined {
  return flag || env['ONEX_DEPLOY_LANE'] || undefined;
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

/** The inputs of the DEPLOY plan besides the tree's files. */
export interface NeedsInput {
  env: DeployEnv;
  /** The chosen lane (undefined: the dev lane). */
  lane: string | undefined;
  /** What redeploy itself hands the script (providedVars). */
  provided: Record<string, string>;
  /** runtime-policy.env parsed; undefined when the tree has none (2025 scripts). */
  policy: Record<string, string> | undefined;
}

/** A variable's value as the script ends up with it: env file, then redeploy's, then the policy, then process. */
function lookupIn(input: NeedsInput): (name: string) => string | undefined {
  const { env, provided, policy } = input;
  return (name) => env.fileVars[name] ?? provided[name] ?? policy?.[name] ?? env.base[name];
}

/** The lane's facts (project, overlay, container, endpoints); throws LaneError for a lane the tree lacks. */
export function deployLane(input: NeedsInput): LaneFacts | null {
  return resolveLane(input.lane ?? DEV_LANE, input.policy, lookupIn(input)) ?? null;
}

/**
 * What DEPLOY will need from the environment, derived from the tree's files: the compose file's (and
 * the lane overlay's, `files.overlay` = the text at `deployLane(input).overlay`) `${VAR:?}` references
 * minus what is provided, the script's INFRA_HOST-unless-HEALTH_CHECK_URL rule, and the env file it
 * sources. A 2025 tree (no such references, no policy) needs nothing beyond the seed's variables.
 */
export function planDeployNeeds(
  input: NeedsInput,
  files: { compose: string | undefined; script: string | undefined; overlay: string | undefined },
): Needs {
  const lookup = lookupIn(input);
  const facts = deployLane(input);
  const required: RequiredVar[] = files.compose ? composeRequired(files.compose, COMPOSE_REL) : [];
  if (facts?.overlay && files.overlay !== undefined)
    required.push(...composeRequired(files.overlay, facts.overlay));
  const s = scriptFacts(files.script ?? '');
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
  if (s.readsOperatorEnvFile && !input.env.fileExists)
    missing.push({
      name: 'env file',
      why: `${DEPLOY_SCRIPT_REL} sources ${input.env.filePath} (OMNIBASE_OPERATOR_ENV_FILE) and exits 64 without it`,
    });
  return {
    checked,
    missing,
    lane: facts,
    readsOperatorEnvFile: s.readsOperatorEnvFile,
    readback: s.readback,
  };
}

/** Needs of a run whose tree could not be read: nothing derived, nothing handed over beyond the basics. */
export const NO_NEEDS: Needs = {
  checked: [],
  missing: [],
  lane: null,
  readsOperatorEnvFile: false,
  readback: false,
};

/** OMNI_HOME: the script re-exports the operator's after sourcing its files (cold lanes, overlays need it). */
export function providedVars(env: Env, omniHome: string): Record<string, string> {
  return { OMNI_HOME: env['OMNI_HOME'] || omniHome };
}

/**
 * The variables redeploy adds for deploy-runtime.sh (`env`: worker env + env file). One env file: the
 * script reads the one redeploy read (OMNIBASE_OPERATOR_ENV_FILE), so REDEPLOY_ENV_FILE elsewhere no
 * longer ends in exit 64.
 */
export function deployScriptEnv(
  env: Env,
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
    if (needs.lane.lane !== DEV_LANE && runtime && !env['HEALTH_CHECK_URL'])
      out['HEALTH_CHECK_URL'] = runtime;
  }
  // The script's fail-closed read-back then checks the requested pins too (today's scripts only).
  if (needs.readback && Object.keys(versions).length > 0)
    out['READBACK_EXPECTED_VERSIONS'] = formatVersions(versions);
  return out;
}

/** The part of the configuration that says where VERIFY looks unless the lane says otherwise. */
export type TargetConfig = Pick<
  Config,
  'healthEndpoints' | 'healthEndpointsSet' | 'versionContainer' | 'versionContainerSet'
>;

/** Whether VERIFY's targets depend on the tree at all (both set explicitly: they do not). */
export const targetsNeedTree = (config: TargetConfig): boolean =>
  !config.healthEndpointsSet || !config.versionContainerSet;

export interface VerifyTargets {
  endpoints: Record<string, string>;
  container: string;
  /** Where the endpoints come from, for VERIFY's log line. */
  source: string;
  /** The lane whose endpoints are used, when they are the lane's (the dry-run names it). */
  laneEndpoints?: string;
}

/**
 * VERIFY's endpoints and container: what the configuration sets explicitly, else the lane's facts
 * (from runtime-policy.env in `dir`), else the seed's defaults.
 */
export function planVerifyTargets(
  config: TargetConfig,
  lane: LaneFacts | null | undefined,
  dir: string,
): VerifyTargets {
  const fromLane = lane && !config.healthEndpointsSet ? lane : undefined;
  return {
    endpoints: fromLane ? fromLane.endpoints : config.healthEndpoints,
    container: lane && !config.versionContainerSet ? lane.runtimeContainer : config.versionContainer,
    source: fromLane
      ? `lane ${fromLane.lane} (${dir}/${POLICY_REL})`
      : config.healthEndpointsSet
        ? 'REDEPLOY_HEALTH_ENDPOINTS'
        : 'the seed defaults',
    ...(fromLane ? { laneEndpoints: fromLane.lane } : {}),
  };
}

/** Whether INFISICAL runs at all: INFISICAL_ADDR set (known only from the env file, hence not the workflow's call). */
export const infisicalRuns = (env: Env): boolean => !!env['INFISICAL_ADDR'];

/** The variables ENV_CHECK requires: the seed's, plus Infisical's credentials when INFISICAL will run. */
export function planRequiredEnv(env: Env, skipInfisical: boolean): { checked: string[]; infisical: boolean } {
  const infisical = !skipInfisical && infisicalRuns(env);
  return { checked: [...REQUIRED_ENV, ...(infisical ? INFISICAL_ENV : [])], infisical };
}

/**
 * INFISICAL's scripts in the seed's order of preference — scripts/sync-omnibase-env.sh, else
 * seed-infisical.py — with today's scripts/sync-omnibase-env.py between the two.
 */
export const INFISICAL_SCRIPTS = [SYNC_ENV_SCRIPT, SYNC_ENV_PY, SEED_INFISICAL] as const;

/** The script INFISICAL runs: the first of INFISICAL_SCRIPTS the worktree has; undefined when none. */
export function planInfisical(present: readonly InfisicalScript[]): InfisicalScript | undefined {
  return INFISICAL_SCRIPTS.find((s) => present.includes(s));
}
