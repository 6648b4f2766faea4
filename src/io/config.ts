import { DEFAULT_TASK_QUEUE } from '../core/task-queue.js';
import {
  DECISION_TIMEOUT_MS,
  TARGET_WAIT_TIMEOUT_MAX_MS,
  TARGET_WAIT_TIMEOUT_MS,
  VERIFY_TIMEOUT_MAX_MS,
  VERIFY_TIMEOUT_MS,
} from '../core/defaults.js';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DEFAULT_WORKTREE_REF, refProblems } from '../core/ref.js';
import { loadClientConnectConfig, type ClientConnectConfig } from '@temporalio/envconfig';
import { CliError, EXIT_USAGE } from '../core/errors.js';

/**
 * All configuration, from environment variables, validated once at the edge (CLI start, worker start,
 * activity entry). parse (schema) → normalise (defaults) → rules; every problem is reported by
 * variable name in one message.
 */

export const SEED_HEALTH_ENDPOINTS: Record<string, string> = {
  'omninode-runtime': 'http://localhost:8085/health',
  'intelligence-api': 'http://localhost:8053/health',
  'omninode-contract-resolver': 'http://localhost:8091/health',
};

export class ConfigError extends CliError {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, EXIT_USAGE);
  }
}

const DURATION_RE = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90s`, `30m`, `24h`, `2d`, or plain milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return undefined;
  const ms = Number(m[1]) * (UNIT_MS[m[2] ?? 'ms'] ?? 1);
  return Number.isFinite(ms) && ms > 0 ? Math.round(ms) : undefined;
}

const duration = (example: string) =>
  z.string().transform((s, ctx) => {
    const ms = parseDuration(s);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${s}" is not a duration (e.g. ${example})` });
      return z.NEVER;
    }
    return ms;
  });

const absolutePath = z.string().refine((p) => path.isAbsolute(p), 'must be an absolute path');

const httpUrl = z.string().refine((u) => {
  try {
    const parsed = new URL(u);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:';
  } catch {
    return false;
  }
}, 'must be an http(s) URL');

const healthEndpoints = z.string().transform((s, ctx) => {
  let raw: unknown;
  try {
    raw = JSON.parse(s);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'must be a JSON object {"name": "http://host:port/health", …}' });
    return z.NEVER;
  }
  const parsed = z.record(z.string().min(1), httpUrl).safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      ctx.addIssue({ code: 'custom', message: `${issue.path.join('.') || '(value)'}: ${issue.message}` });
    }
    return z.NEVER;
  }
  if (Object.keys(parsed.data).length === 0) {
    ctx.addIssue({ code: 'custom', message: 'must name at least one endpoint' });
    return z.NEVER;
  }
  return parsed.data;
});

const envSchema = z.object({
  OMNI_HOME: absolutePath.optional(),
  REDEPLOY_WORKTREE_ROOT: absolutePath.optional(),
  REDEPLOY_ENV_FILE: absolutePath.optional(),
  REDEPLOY_WORKTREE_REF: z
    .string()
    .superRefine((r, ctx) => {
      for (const p of refProblems(r)) ctx.addIssue({ code: 'custom', message: p });
    })
    .optional(),
  ONEX_STATE_DIR: absolutePath.optional(),
  REDEPLOY_STATE_DIR: absolutePath.optional(),
  REDEPLOY_SKILL_RESULTS_DIR: absolutePath.optional(),
  REDEPLOY_LOG_DIR: absolutePath.optional(),
  REDEPLOY_DEPLOY_ROOT: absolutePath.optional(),
  REDEPLOY_HEALTH_ENDPOINTS: healthEndpoints.optional(),
  REDEPLOY_VERSION_CONTAINER: z
    .string()
    .regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/, 'must be a container name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)')
    .optional(),
  REDEPLOY_TASK_QUEUE: z.string().min(1).max(200).optional(),
  REDEPLOY_PIN_MODE: z.enum(['builtin', 'script']).optional(),
  REDEPLOY_VERIFY_TIMEOUT: duration('120s').optional(),
  REDEPLOY_VERIFY_REDIRECTS: z.enum(['none', 'same-origin']).optional(),
  REDEPLOY_DECISION_TIMEOUT: duration('24h').optional(),
  REDEPLOY_TARGET_WAIT_TIMEOUT: duration('2h').optional(),
  REDEPLOY_SLACK_API_URL: httpUrl.optional(),
  TEMPORAL_ADDRESS: z
    .string()
    .regex(/^[^\s:/]+:\d{1,5}$/, 'must be host:port (e.g. localhost:7233)')
    .optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).optional(),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: z.enum(['true', 'false', '1', '0']).optional(),
  TEMPORAL_UI_URL: httpUrl.optional(),
  REDEPLOY_EMBEDDED_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  REDEPLOY_EMBEDDED_UI_PORT: z.coerce.number().int().min(1).max(65535).optional(),
});

export interface Config {
  omniHome: string;
  worktreeRoot: string;
  /** The origin branch a worktree is based on unless `--ref` says otherwise (docs/TRUST.md, "The ref"). */
  worktreeRef: string;
  envFile: string;
  stateDir: string;
  skillResultsDir: string;
  logDir: string;
  deployRoot: string;
  healthEndpoints: Record<string, string>;
  /** REDEPLOY_HEALTH_ENDPOINTS was given: it wins over the endpoints a lane implies. */
  healthEndpointsSet: boolean;
  /**
   * VERIFY and redirects: `none` (default) counts any 3xx as unhealthy; `same-origin` follows up to 5
   * redirects within the endpoint's own scheme+host+port. A redirect to another origin is never followed.
   */
  verifyRedirects: 'none' | 'same-origin';
  versionContainer: string;
  /** REDEPLOY_VERSION_CONTAINER was given: it wins over the lane's runtime container. */
  versionContainerSet: boolean;
  taskQueue: string;
  pinMode: 'builtin' | 'script';
  verifyTimeoutMs: number;
  decisionTimeoutMs: number;
  /** How long a run waits for another run on its target to finish. */
  targetWaitTimeoutMs: number;
  slackApiUrl: string | undefined;
  temporal: {
    address: string;
    namespace: string;
    /** From @temporalio/envconfig: TLS, API key, gRPC metadata, profiles (TEMPORAL_PROFILE, TEMPORAL_CONFIG_FILE). */
    connection: ClientConnectConfig['connectionOptions'];
    /** An address was configured (variable or profile); otherwise the embedded local server is used. */
    configured: boolean;
    embeddedUiPort: number;
    uiUrl: string;
  };
}

/** Empty strings count as unset: `FOO= redeploy …` is how people unset things in a shell. */
function nonEmpty(env: NodeJS.ProcessEnv): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => !!e[1]));
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(nonEmpty(env));
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`));
  }
  const e = parsed.data;
  const home = env['HOME'] || os.homedir();
  // Later skill versions moved state and results under $ONEX_STATE_DIR; explicit REDEPLOY_* wins.
  const stateDir =
    e.REDEPLOY_STATE_DIR ??
    (e.ONEX_STATE_DIR
      ? path.join(e.ONEX_STATE_DIR, 'state/redeploy')
      : path.join(home, '.claude/state/redeploy'));
  const skillResultsDir =
    e.REDEPLOY_SKILL_RESULTS_DIR ??
    (e.ONEX_STATE_DIR
      ? path.join(e.ONEX_STATE_DIR, 'skill-results')
      : path.join(home, '.claude/skill-results'));
  // The standard TEMPORAL_* variables and profiles, read the way every Temporal SDK and the CLI read them.
  let connect: ClientConnectConfig;
  try {
    connect = loadClientConnectConfig({
      overrideEnvVars: nonEmpty(env),
      ...(env['TEMPORAL_PROFILE'] ? { profile: env['TEMPORAL_PROFILE'] } : {}),
    });
  } catch (err) {
    throw new ConfigError([`TEMPORAL_PROFILE / TEMPORAL_CONFIG_FILE: ${(err as Error).message}`]);
  }
  const embeddedUiPort = e.REDEPLOY_EMBEDDED_UI_PORT ?? 8233;
  const configured = !!connect.connectionOptions.address;
  const address = connect.connectionOptions.address ?? `127.0.0.1:${e.REDEPLOY_EMBEDDED_PORT ?? 7233}`;
  const config: Config = {
    omniHome: e.OMNI_HOME ?? '/Volumes/PRO-G40/Code/omni_home',
    worktreeRoot: e.REDEPLOY_WORKTREE_ROOT ?? '/Volumes/PRO-G40/Code/omni_worktrees',
    worktreeRef: e.REDEPLOY_WORKTREE_REF ?? DEFAULT_WORKTREE_REF,
    envFile: e.REDEPLOY_ENV_FILE ?? path.join(home, '.omnibase/.env'),
    stateDir,
    skillResultsDir,
    logDir: e.REDEPLOY_LOG_DIR ?? path.join(stateDir, 'logs'),
    deployRoot: e.REDEPLOY_DEPLOY_ROOT ?? path.join(home, '.omnibase/infra/deployed'),
    healthEndpoints: e.REDEPLOY_HEALTH_ENDPOINTS ?? SEED_HEALTH_ENDPOINTS,
    healthEndpointsSet: e.REDEPLOY_HEALTH_ENDPOINTS !== undefined,
    verifyRedirects: e.REDEPLOY_VERIFY_REDIRECTS ?? 'none',
    versionContainer: e.REDEPLOY_VERSION_CONTAINER ?? 'omninode-runtime',
    versionContainerSet: e.REDEPLOY_VERSION_CONTAINER !== undefined,
    taskQueue: e.REDEPLOY_TASK_QUEUE ?? DEFAULT_TASK_QUEUE,
    pinMode: e.REDEPLOY_PIN_MODE ?? 'builtin',
    verifyTimeoutMs: e.REDEPLOY_VERIFY_TIMEOUT ?? VERIFY_TIMEOUT_MS,
    decisionTimeoutMs: e.REDEPLOY_DECISION_TIMEOUT ?? DECISION_TIMEOUT_MS,
    targetWaitTimeoutMs: e.REDEPLOY_TARGET_WAIT_TIMEOUT ?? TARGET_WAIT_TIMEOUT_MS,
    slackApiUrl: e.REDEPLOY_SLACK_API_URL,
    temporal: {
      address,
      namespace: connect.namespace ?? e.TEMPORAL_NAMESPACE ?? 'default',
      connection: connect.connectionOptions,
      configured,
      embeddedUiPort,
      uiUrl:
        e.TEMPORAL_UI_URL ??
        (configured ? `http://${address.split(':')[0]}:8233` : `http://127.0.0.1:${embeddedUiPort}`),
    },
  };
  const rules: string[] = [];
  if (config.verifyTimeoutMs > VERIFY_TIMEOUT_MAX_MS)
    rules.push('REDEPLOY_VERIFY_TIMEOUT: must be at most 10m');
  if (config.decisionTimeoutMs < 1000) rules.push('REDEPLOY_DECISION_TIMEOUT: must be at least 1s');
  if (config.targetWaitTimeoutMs < 1000) rules.push('REDEPLOY_TARGET_WAIT_TIMEOUT: must be at least 1s');
  // A waiting run writes history on every try; past ~12 h it would near Temporal's 51,200-event limit.
  if (config.targetWaitTimeoutMs > TARGET_WAIT_TIMEOUT_MAX_MS)
    rules.push(
      'REDEPLOY_TARGET_WAIT_TIMEOUT: must be at most 12h (a queued run is better started again later)',
    );
  if (rules.length > 0) throw new ConfigError(rules);
  return config;
}
