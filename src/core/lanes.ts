/**
 * Today's omnibase_infra: lanes, the variables its compose file requires, and what its deploy script
 * reads. Pure functions over the files' text (no Node built-ins): the activities and the dry-run use
 * the same rules.
 */

export const DEV_LANE = 'dev';
export const LANE_RE = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const COMPOSE_REL = 'docker/docker-compose.infra.yml';
export const POLICY_REL = 'docker/runtime-policy.env';
export const DEPLOY_SCRIPT_REL = 'scripts/deploy-runtime.sh';

/** `stability-test` → `STABILITY_TEST`: the prefix of the lane's runtime-policy.env keys. */
export const lanePrefix = (lane: string): string => lane.toUpperCase().replace(/-/g, '_');

export interface RequiredVar {
  name: string;
  /** `${VAR:?}` needs a non-empty value; `${VAR?}` only needs it set. */
  nonEmpty: boolean;
  /** Compose's message for it (what the file says to do). */
  message: string;
  file: string;
}

/** `${VAR:?message}` / `${VAR?message}` references outside comment lines, once per variable. */
export function composeRequired(text: string, file: string): RequiredVar[] {
  const found = new Map<string, RequiredVar>();
  for (const line of text.split('\n')) {
    if (line.trimStart().startsWith('#')) continue;
    for (const m of line.matchAll(/\$\{([A-Za-z_][A-Za-z0-9_]*)(:?)\?([^}]*)\}/g)) {
      const name = m[1] as string;
      const prev = found.get(name);
      const nonEmpty = m[2] === ':' || (prev?.nonEmpty ?? false);
      found.set(name, { name, nonEmpty, message: prev?.message || (m[3] ?? '').trim(), file });
    }
  }
  return [...found.values()];
}

export interface LaneFacts {
  lane: string;
  /** OMNIBASE_INFRA_COMPOSE_PROJECT for the script (the bare project is the dev lane). */
  project: string;
  /** The lane's overlay compose file (non-dev lanes), whose `${VAR:?}` are required too. */
  overlay: string | undefined;
  runtimeContainer: string;
  /** VERIFY's endpoints: name → URL. */
  endpoints: Record<string, string>;
}

export class LaneError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LaneError';
  }
}

/** Lanes runtime-policy.env knows (`<LANE>_COMPOSE_PROJECT=…`), as lane names. */
export function knownLanes(policy: Record<string, string>): Map<string, string> {
  const lanes = new Map<string, string>();
  for (const [key, value] of Object.entries(policy)) {
    const m = /^([A-Z0-9_]+)_COMPOSE_PROJECT$/.exec(key);
    if (m) lanes.set((m[1] as string).toLowerCase().replace(/_/g, '-'), value);
  }
  return lanes;
}

/**
 * A lane's project, container and endpoints, from today's runtime-policy.env and the effective
 * environment (`lookup`: env file over policy over process, as the script sources them).
 * `policy` undefined: the tree predates lanes (2025 scripts) — only the dev lane exists there.
 */
export function resolveLane(
  lane: string,
  policy: Record<string, string> | undefined,
  lookup: (name: string) => string | undefined,
): LaneFacts | undefined {
  if (!LANE_RE.test(lane)) throw new LaneError(`lane "${lane}" is not a lane name ([a-z0-9-])`);
  if (policy === undefined) {
    if (lane === DEV_LANE) return undefined;
    throw new LaneError(
      `lane "${lane}": this omnibase_infra has no ${POLICY_REL}, so its deploy script knows no lanes`,
    );
  }
  const lanes = knownLanes(policy);
  if (lane !== DEV_LANE && !lanes.has(lane)) {
    throw new LaneError(
      `unknown lane "${lane}": ${POLICY_REL} defines ${[...new Set([DEV_LANE, ...lanes.keys()])].sort().join(', ')}`,
    );
  }
  const p = lanePrefix(lane);
  // INFRA_HOST is where the script itself probes (http://$INFRA_HOST:8085/health); localhost as the seed.
  const host = lookup('INFRA_HOST') || 'localhost';
  const url = (port: string) => `http://${host}:${port}/health`;
  const portOf = (key: string, fallback?: string) => lookup(key) || policy[key] || fallback;
  const endpoints: Record<string, string> = {};
  if (lane === DEV_LANE) {
    // The seed's three services; intelligence-api and the resolver keep compose's port defaults.
    endpoints['omninode-runtime'] = url(portOf('DEV_RUNTIME_MAIN_PORT', '8085') as string);
    endpoints['intelligence-api'] = url(portOf('INTELLIGENCE_API_EXTERNAL_PORT', '8053') as string);
    endpoints['omninode-contract-resolver'] = url(portOf('CONTRACT_RESOLVER_PORT', '8091') as string);
    return {
      lane,
      project: lanes.get(DEV_LANE) ?? 'omnibase-infra',
      overlay: undefined,
      runtimeContainer: 'omninode-runtime',
      endpoints,
    };
  }
  const main = portOf(`${p}_RUNTIME_MAIN_PORT`);
  if (!main) throw new LaneError(`lane "${lane}": ${POLICY_REL} sets no ${p}_RUNTIME_MAIN_PORT`);
  // A lane overlay disables intelligence-api and the contract resolver: its runtimes are what answer.
  endpoints[`omninode-${lane}-runtime`] = url(main);
  const effects = portOf(`${p}_RUNTIME_EFFECTS_PORT`);
  if (effects) endpoints[`omninode-${lane}-runtime-effects`] = url(effects);
  return {
    lane,
    project: lanes.get(lane) ?? `omnibase-infra-${lane}`,
    overlay: `docker/docker-compose.${lane}.yml`,
    runtimeContainer: `omninode-${lane}-runtime`,
    endpoints,
  };
}

/** What a deploy-runtime.sh reads, from its text (today's script vs the 2025 one). */
export function scriptFacts(text: string): {
  readsOperatorEnvFile: boolean;
  needsInfraHost: boolean;
  readback: boolean;
} {
  return {
    readsOperatorEnvFile: text.includes('OMNIBASE_OPERATOR_ENV_FILE'),
    needsInfraHost: /\$\{INFRA_HOST:\?/.test(text),
    readback: text.includes('READBACK_EXPECTED_VERSIONS'),
  };
}
