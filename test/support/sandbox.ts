// Test sandbox: real git repos, real scripts and real HTTP servers in a temp dir.
// Only what cannot exist here (Docker, uv, Infisical, Slack, the OmniNode scripts)
// is replaced by stand-ins that honour /work/shared/CONTRACTS.md. The stand-in
// sources live in ./sandbox-scripts and get the sandbox's absolute paths baked in.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_HEALTH_SERVICES, startHealthServers, type HealthServers } from './health-servers.js';
import { startSlackStandIn, type SlackStandIn } from './slack-standin.js';

export type { HealthServers } from './health-servers.js';
export type { SlackStandIn, SlackRequest, SlackFailResponse } from './slack-standin.js';

export const REPOS = [
  'omniclaude',
  'omnibase_core',
  'omnibase_infra',
  'omnibase_spi',
  'omnidash',
  'omniintelligence',
  'omnimemory',
  'omninode_infra',
  'omniweb',
  'onex_change_control',
] as const;

/**
 * Which omnibase_infra the sandbox imitates: `2025` (the revisions the seed was written against) or
 * `today` (CONTRACTS.md, "Today's omnibase_infra": a `dev` branch ahead of `main`, pull-all.sh leaving
 * clones on dev, the operator env file, compose-required variables, lanes, the script's own health check).
 */
export type Profile = '2025' | 'today';

/** Today's pull-all.sh default repos (the 2025 ten plus four). */
export const TODAY_REPOS = [...REPOS, 'omnibase_compat', 'omnidash-v2', 'omnigemini', 'omnimarket'] as const;

/** The lane the today profile can deploy besides dev (docker-compose.stability-test.yml). */
export const TODAY_LANE = 'stability-test';
/** The promoted lane of the today profile: its deploy script runs the promotion-lineage guard. */
export const PROD_LANE = 'prod';

export type FaultTarget =
  'pull-all' | 'deploy' | 'docker' | 'seed-infisical' | 'update-plugin-pins' | 'sync-omnibase-env';

export interface Fault {
  /** Exit with this code (after printing message to stderr). */
  exitCode?: number;
  /** Printed to stderr. */
  message?: string;
  /** Sleep first, in a child `sleep` process the script waits on (so there is a grandchild). */
  sleepSeconds?: number;
  /**
   * update-plugin-pins only: sleep (in a child `sleep`) after the Dockerfile is written, before the report —
   * a process killed then leaves the change made but unreported.
   */
  sleepAfterWorkSeconds?: number;
  /** Env var names whose values are printed (NAME=value) to stdout and stderr. */
  printEnv?: string[];
}

export interface SandboxOptions {
  /** Default '2025'. */
  profile?: Profile;
  /** Replaces the pin lines after `RUN uv pip install --system \` in Dockerfile.runtime. */
  pins?: string;
  /** omnibase_infra `[project] version`, default '0.9.0'. */
  infraVersion?: string;
  /** Pre-existing deployed.json (what the docker stand-in / health servers report before any deploy). */
  initialDeployed?: Record<string, string>;
  /** Tags to create in a repo (and push to its origin), e.g. { omniclaude: ['v0.4.0'] }. */
  tags?: Partial<Record<string, string[]>>;
  /**
   * The package index a build resolves ranges against (`<root>/index.json`): a range pin installs the
   * newest release listed here that it admits. Packages not listed keep their specifier as written.
   */
  index?: Record<string, string[]>;
}

export interface Sandbox {
  profile: Profile;
  /** What the env file holds at creation: DEFAULT_ENV (2025) or todayEnv(…) (today). */
  envVars: Record<string, string>;
  /** today: the commit `dev` is at on the omnibase_infra origin (one commit ahead of main); 2025: undefined. */
  devHead: string | undefined;
  root: string;
  omniHome: string;
  originsDir: string;
  worktreeRoot: string;
  homeDir: string;
  deployRoot: string;
  /** <homeDir>/.omnibase/infra/deploy.lock — the deploy stand-in's lock directory (holds `pid`). */
  deployLockDir: string;
  /** <root>/deployed.json — pins of the "running" containers. */
  deployedFile: string;
  binDir: string;
  envFile: string;
  stateDir: string;
  skillResultsDir: string;
  env: Record<string, string>;
  health: HealthServers;
  slack: SlackStandIn;
  invocations(name: string): Promise<number>;
  invocationArgs(name: string): Promise<string[][]>;
  setFault(name: FaultTarget, fault: Fault): Promise<void>;
  clearFault(name: string): Promise<void>;
  writeEnvFile(vars: Record<string, string>): Promise<void>;
  pushUpstreamCommit(repo: string, file?: string, branch?: string): Promise<string>;
  /** Commit scripts/sync-omnibase-env.sh to omnibase_infra (origin, and the clone if it is on main). */
  addSyncEnvScript(): Promise<void>;
  deployedPins(): Promise<Record<string, string>>;
  /** The running image's revision label (the 12-character HEAD the deploy stand-in built), or undefined. */
  deployedRevision(): Promise<string | undefined>;
  /** Push a branch to omnibase_infra's origin (from main, one commit), e.g. automation/pin-<pkg>-v<ver>. */
  pushBranch(branch: string): Promise<string>;
  close(): Promise<void>;
}

export const DEFAULT_ENV: Record<string, string> = {
  POSTGRES_PASSWORD: 'pg-secret-value-123',
  KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:19092',
};

/** A complete, valid set of Infisical variables (INFISICAL runs; nothing is reachable at the address). */
export const INFISICAL_TEST_ENV: Record<string, string> = {
  INFISICAL_ADDR: 'https://infisical.invalid',
  INFISICAL_CLIENT_ID: 'id',
  INFISICAL_CLIENT_SECRET: 'client-secret',
  INFISICAL_PROJECT_ID: '123e4567-e89b-12d3-a456-426614174000',
};

export const DEFAULT_INFRA_VERSION = '0.9.0';

/** Pin lines of the plugin install block: every form the pin updater must handle. */
export const DEFAULT_PINS = [
  '    "omninode-claude>=0.3.0,<0.5.0" \\',
  '    "omninode-memory>=0.9.0,<2.0.0" \\',
  '    # omniintelligence==0.1.0 (old pin, keep)',
  '    omniintelligence==0.6.0 \\',
  '    "omnibase-core==1.2.0" \\',
  '    omnibase_spi>=0.4.0',
].join('\n');

/** Today's plugin block: the renamed omninode-intelligence, all three ranges, in one uv-with-retry install. */
export const TODAY_PINS = [
  '    "omninode-claude>=0.3.0,<0.5.0" \\',
  '    "omninode-memory>=0.9.0,<2.0.0" \\',
  '    "omninode-intelligence>=0.6.0,<1.0.0"',
].join('\n');

export function buildDockerfile(
  pins: string = DEFAULT_PINS,
  install = 'RUN uv pip install --system \\',
): string {
  return `# syntax=docker/dockerfile:1
# Runtime image for omninode-runtime and its plugin packages.
FROM python:3.12-slim AS runtime

ENV PYTHONDONTWRITEBYTECODE=1 \\
    PYTHONUNBUFFERED=1 \\
    UV_SYSTEM_PYTHON=1

COPY --from=ghcr.io/astral-sh/uv:0.5.11 /uv /uvx /usr/local/bin/

WORKDIR /app
COPY pyproject.toml uv.lock ./
COPY src/ ./src/
RUN uv sync --frozen --no-dev

# Plugin packages (pinned per release; see scripts/update-plugin-pins.py)
${install}
${pins.replace(/\n+$/, '')}

COPY docker/entrypoint-runtime.sh /usr/local/bin/entrypoint-runtime.sh
ENV ONEX_RUNTIME_PORT=8085
EXPOSE 8085
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://localhost:8085/health || exit 1
ENTRYPOINT ["/usr/local/bin/entrypoint-runtime.sh"]
CMD ["python", "-m", "omnibase_infra.runtime"]
`;
}

export const DEFAULT_DOCKERFILE = buildDockerfile(DEFAULT_PINS);

const COMPOSE_FILE = `# Minimal stand-in for docker/docker-compose.infra.yml (never run here).
services:
  omninode-runtime:
    build: { context: .., dockerfile: docker/Dockerfile.runtime }
    container_name: omninode-runtime
    ports: ["8085:8085"]
  intelligence-api:
    container_name: intelligence-api
    ports: ["8053:8053"]
  omninode-contract-resolver:
    container_name: omninode-contract-resolver
    ports: ["8091:8091"]
`;

/** Today's compose file: `${VAR:?}` references as the real one has them (a handful of its ~40). */
const TODAY_COMPOSE_FILE = `# Stand-in for today's docker/docker-compose.infra.yml (never run here).
name: omnibase-infra
services:
  omninode-runtime:
    build: { context: .., dockerfile: docker/Dockerfile.runtime }
    container_name: omninode-runtime
    profiles: ["runtime"]
    ports:
      - "\${DEV_RUNTIME_MAIN_PORT:?runtime policy contract must set DEV_RUNTIME_MAIN_PORT}:8085"
    environment:
      POSTGRES_PASSWORD: \${POSTGRES_PASSWORD:?POSTGRES_PASSWORD required}
      KAFKA_BOOTSTRAP_SERVERS: \${KAFKA_BOOTSTRAP_SERVERS:-omnibase-infra-redpanda:9092}
      LINEAR_API_KEY: \${LINEAR_API_KEY:?LINEAR_API_KEY must be set}
      GITHUB_TOKEN: \${GITHUB_TOKEN:?GITHUB_TOKEN must be set}
      LLM_CODER_URL: \${LLM_CODER_URL:?LLM_CODER_URL required for PluginLlm activation}
      ONEX_ACTIVE_RUNTIME_PACKAGES: \${ONEX_ACTIVE_RUNTIME_PACKAGES:?runtime policy contract must set ONEX_ACTIVE_RUNTIME_PACKAGES}
  runtime-effects:
    container_name: omninode-runtime-effects
    profiles: ["runtime"]
    ports:
      - "\${DEV_RUNTIME_EFFECTS_PORT:?runtime policy contract must set DEV_RUNTIME_EFFECTS_PORT}:8085"
  infisical:
    container_name: omnibase-infra-infisical
    environment:
      DB_CONNECTION_URI: \${INFISICAL_DB_CONNECTION_URI:?INFISICAL_DB_CONNECTION_URI must be set in ~/.omnibase/.env}
  intelligence-api:
    container_name: omnibase-intelligence-api
    profiles: ["runtime"]
    ports: ["\${INTELLIGENCE_API_EXTERNAL_PORT:-8053}:8053"]
  omninode-contract-resolver:
    container_name: omninode-contract-resolver
    profiles: ["runtime"]
    ports: ["\${CONTRACT_RESOLVER_PORT:-8091}:8091"]
`;

const TODAY_PROD_OVERLAY = `# Stand-in for docker/docker-compose.prod.yml: the prod lane's containers and ports.
name: omnibase-infra-prod
services:
  omninode-runtime:
    container_name: omninode-prod-runtime
    ports: !override
      - "\${PROD_RUNTIME_MAIN_PORT:?runtime policy contract must set PROD_RUNTIME_MAIN_PORT}:8085"
  runtime-effects:
    container_name: omninode-prod-runtime-effects
    ports: !override
      - "\${PROD_RUNTIME_EFFECTS_PORT:?runtime policy contract must set PROD_RUNTIME_EFFECTS_PORT}:8085"
  intelligence-api:
    profiles: !override ["prod-disabled"]
  omninode-contract-resolver:
    profiles: !override ["prod-disabled"]
`;

const TODAY_STABILITY_OVERLAY = `# Stand-in for docker/docker-compose.stability-test.yml: lane-named containers and ports.
name: omnibase-infra-stability-test
services:
  omninode-runtime:
    container_name: omninode-stability-test-runtime
    ports: !override
      - "\${STABILITY_TEST_RUNTIME_MAIN_PORT:?runtime policy contract must set STABILITY_TEST_RUNTIME_MAIN_PORT}:8085"
    volumes:
      - "\${OMNI_HOME:?OMNI_HOME required for stability session health probes}:/omni_home:ro"
  runtime-effects:
    container_name: omninode-stability-test-runtime-effects
    ports: !override
      - "\${STABILITY_TEST_RUNTIME_EFFECTS_PORT:?runtime policy contract must set STABILITY_TEST_RUNTIME_EFFECTS_PORT}:8085"
  intelligence-api:
    container_name: omnibase-stability-test-intelligence-api
    profiles: !override ["stability-test-disabled"]
  omninode-contract-resolver:
    container_name: omninode-stability-test-contract-resolver
    profiles: !override ["stability-test-disabled"]
`;

/** Today's health services: the dev lane's three (seed names) and the stability-test lane's two. */
export const TODAY_HEALTH_SERVICES = [
  ...DEFAULT_HEALTH_SERVICES,
  'omninode-runtime-effects',
  'omninode-stability-test-runtime',
  'omninode-stability-test-runtime-effects',
  'omninode-prod-runtime',
  'omninode-prod-runtime-effects',
];

const port = (url: string | undefined): string => (url ? new URL(url).port : '1');

/** docker/runtime-policy.env: the lanes' compose projects and runtime ports (the sandbox's health servers). */
function todayRuntimePolicy(endpoints: Record<string, string>): string {
  return [
    '# Generated from contracts/services/runtime_policy.contract.yaml (sandbox stand-in).',
    'DEV_COMPOSE_PROJECT=omnibase-infra',
    `DEV_RUNTIME_MAIN_PORT=${port(endpoints['omninode-runtime'])}`,
    `DEV_RUNTIME_EFFECTS_PORT=${port(endpoints['omninode-runtime-effects'])}`,
    'ONEX_ACTIVE_RUNTIME_PACKAGES=omnibase_infra,omnimarket',
    'STABILITY_TEST_COMPOSE_PROJECT=omnibase-infra-stability-test',
    `STABILITY_TEST_RUNTIME_MAIN_PORT=${port(endpoints['omninode-stability-test-runtime'])}`,
    `STABILITY_TEST_RUNTIME_EFFECTS_PORT=${port(endpoints['omninode-stability-test-runtime-effects'])}`,
    'PROD_COMPOSE_PROJECT=omnibase-infra-prod',
    `PROD_RUNTIME_MAIN_PORT=${port(endpoints['omninode-prod-runtime'])}`,
    `PROD_RUNTIME_EFFECTS_PORT=${port(endpoints['omninode-prod-runtime-effects'])}`,
    '',
  ].join('\n');
}

/** The operator env file of the today profile: everything its compose file needs that the policy does not set. */
export function todayEnv(endpoints: Record<string, string>): Record<string, string> {
  return {
    ...DEFAULT_ENV,
    LINEAR_API_KEY: 'lin-api-secret-456',
    GITHUB_TOKEN: 'ghp-secret-789',
    LLM_CODER_URL: 'http://127.0.0.1:9/coder',
    INFISICAL_DB_CONNECTION_URI: 'postgres://infisical:db-secret-321@127.0.0.1:5436/infisical',
    INFRA_HOST: '127.0.0.1',
    // The script's default is http://$INFRA_HOST:8085/health: here the runtime stand-in has its own port.
    HEALTH_CHECK_URL: endpoints['omninode-runtime'] ?? '',
    INTELLIGENCE_API_EXTERNAL_PORT: port(endpoints['intelligence-api']),
    CONTRACT_RESOLVER_PORT: port(endpoints['omninode-contract-resolver']),
  };
}

// Variables the product reads: a developer's shell must not leak them into tests.
const STRIPPED_ENV =
  /^(INFISICAL_|SLACK_|ONEX_|CLAUDE_|REDEPLOY_|POSTGRES_|KAFKA_|GIT_|DOCKER_STANDIN_|DEPLOY_STANDIN_|OMNIBASE_)|^(OMNI_HOME|HEALTH_CHECK_URL|INFRA_HOST|READBACK_EXPECTED_VERSIONS)$/;

function findScriptsDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.join(here, 'sandbox-scripts')];
  // Compiled to dist/test/support/: the templates stay in the source tree.
  for (let dir = here; ; dir = path.dirname(dir)) {
    candidates.push(path.join(dir, 'test', 'support', 'sandbox-scripts'));
    if (path.dirname(dir) === dir) break;
  }
  candidates.push(path.join(process.cwd(), 'test', 'support', 'sandbox-scripts'));
  const found = candidates.find((c) => existsSync(path.join(c, 'deploy-runtime.sh')));
  if (!found) throw new Error(`sandbox-scripts templates not found (looked in ${candidates.join(', ')})`);
  return found;
}

function shellQuoteDouble(value: string): string {
  return `"${value.replace(/[\\"$`]/g, (c) => `\\${c}`)}"`;
}

export async function createSandbox(opts: SandboxOptions = {}): Promise<Sandbox> {
  const profile: Profile = opts.profile ?? '2025';
  const today = profile === 'today';
  const scriptsDir = findScriptsDir();
  const root = await fs.realpath(await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-sandbox-')));
  const omniHome = path.join(root, 'omni_home');
  const originsDir = path.join(root, 'origins');
  const worktreeRoot = path.join(root, 'worktrees');
  const homeDir = path.join(root, 'home');
  const infraHome = path.join(homeDir, '.omnibase', 'infra');
  const deployRoot = path.join(infraHome, 'deployed');
  const deployLockDir = path.join(infraHome, 'deploy.lock');
  const binDir = path.join(root, 'bin');
  const envFile = path.join(homeDir, '.omnibase', '.env');
  const stateDir = path.join(root, 'state');
  const skillResultsDir = path.join(root, 'skill-results');
  const invocationsDir = path.join(root, 'invocations');
  const faultsDir = path.join(root, 'faults');
  const libDir = path.join(root, 'lib');
  const tmpDir = path.join(root, 'tmp');
  const deployedFile = path.join(root, 'deployed.json');

  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (v !== undefined && !STRIPPED_ENV.test(k)) env[k] = v;
  }
  Object.assign(env, {
    HOME: homeDir,
    PATH: `${binDir}${path.delimiter}${process.env.PATH ?? '/usr/bin:/bin'}`,
    GIT_AUTHOR_NAME: 'Sandbox Tester',
    GIT_AUTHOR_EMAIL: 'sandbox@example.invalid',
    GIT_COMMITTER_NAME: 'Sandbox Tester',
    GIT_COMMITTER_EMAIL: 'sandbox@example.invalid',
    // Isolate from the machine's git config (signing, hooks, default branch...).
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: path.join(homeDir, '.gitconfig'),
    GIT_TERMINAL_PROMPT: '0',
    // The today deploy stand-in's own health check: 3 tries 0.3 s apart instead of 15 x 4 s.
    ...(today ? { DEPLOY_STANDIN_HEALTH_RETRIES: '3', DEPLOY_STANDIN_HEALTH_INTERVAL: '0.3' } : {}),
  });

  const template = async (name: string): Promise<string> =>
    (await fs.readFile(path.join(scriptsDir, name), 'utf8'))
      .replaceAll('@SANDBOX_ROOT@', root)
      .replaceAll('@OMNI_HOME@', omniHome);

  // node:child_process rather than execa: execa 10 needs Node >= 22 (Set.prototype.union)
  // and the sandbox must work on the Node 20 this project targets.
  const git = (args: string[], cwd?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      execFile('git', args, { env, cwd: cwd ?? root, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
        if (err)
          reject(new Error(`git ${args.join(' ')} failed: ${stderr.trim() || err.message}`, { cause: err }));
        else resolve(stdout.trim());
      });
    });

  let health: HealthServers | undefined;
  let slack: SlackStandIn | undefined;
  let envVars: Record<string, string> = DEFAULT_ENV;
  let devHead: string | undefined;
  let closed = false;

  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await Promise.allSettled([health?.close(), slack?.close()]);
    await fs.rm(root, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
  };

  try {
    await Promise.all(
      [
        omniHome,
        path.join(omniHome, 'docs', 'tools'),
        originsDir,
        worktreeRoot,
        deployRoot,
        binDir,
        stateDir,
        skillResultsDir,
        invocationsDir,
        faultsDir,
        libDir,
        tmpDir,
      ].map((d) => fs.mkdir(d, { recursive: true })),
    );
    await fs.writeFile(
      path.join(homeDir, '.gitconfig'),
      '[user]\n\tname = Sandbox Tester\n\temail = sandbox@example.invalid\n[init]\n\tdefaultBranch = main\n' +
        '[advice]\n\tdetachedHead = false\n[commit]\n\tgpgsign = false\n[tag]\n\tgpgsign = false\n',
    );

    const install = async (name: string, dest: string, mode = 0o755): Promise<void> => {
      await fs.mkdir(path.dirname(dest), { recursive: true });
      await fs.writeFile(dest, await template(name), { mode });
      await fs.chmod(dest, mode); // writeFile's mode is masked by umask
    };

    await Promise.all([
      install('standin-lib.sh', path.join(libDir, 'standin-lib.sh'), 0o644),
      install('standin_lib.py', path.join(libDir, 'standin_lib.py'), 0o644),
      install('docker', path.join(binDir, 'docker')),
      install('uv', path.join(binDir, 'uv')),
      install(
        today ? 'pull-all-today.sh' : 'pull-all.sh',
        path.join(omniHome, 'docs', 'tools', 'pull-all.sh'),
      ),
    ]);
    // Before the repos: today's runtime-policy.env names the health servers' ports.
    health = await startHealthServers(
      today ? TODAY_HEALTH_SERVICES : [...DEFAULT_HEALTH_SERVICES],
      deployedFile,
    );
    if (today) envVars = todayEnv(health.endpoints);
    if (opts.index) await fs.writeFile(path.join(root, 'index.json'), JSON.stringify(opts.index, null, 2));
    if (opts.initialDeployed) {
      await fs.writeFile(deployedFile, JSON.stringify(opts.initialDeployed, null, 2) + '\n');
    }

    const infraVersion = opts.infraVersion ?? DEFAULT_INFRA_VERSION;
    const repoFiles = async (repo: string, dir: string): Promise<void> => {
      const write = async (rel: string, content: string, mode = 0o644): Promise<void> => {
        const p = path.join(dir, rel);
        await fs.mkdir(path.dirname(p), { recursive: true });
        await fs.writeFile(p, content);
        await fs.chmod(p, mode);
      };
      await write('README.md', `# ${repo}\n\nSandbox clone for redeploy tests.\n`);
      if (repo !== 'omnibase_infra') {
        await write('pyproject.toml', `[project]\nname = "${repo}"\nversion = "0.1.0"\n`);
        return;
      }
      await write(
        'pyproject.toml',
        `[build-system]\nrequires = ["hatchling"]\nbuild-backend = "hatchling.build"\n\n` +
          `[project]\nname = "omnibase_infra"\nversion = "${infraVersion}"\nrequires-python = ">=3.12"\n\n` +
          `[tool.uv]\ndev-dependencies = []\n`,
      );
      await write(
        'docker/Dockerfile.runtime',
        today
          ? buildDockerfile(opts.pins ?? TODAY_PINS, 'RUN uv-with-retry pip install --no-deps \\')
          : opts.pins === undefined
            ? DEFAULT_DOCKERFILE
            : buildDockerfile(opts.pins),
      );
      await write('docker/docker-compose.infra.yml', today ? TODAY_COMPOSE_FILE : COMPOSE_FILE);
      if (today) {
        await write(`docker/docker-compose.${TODAY_LANE}.yml`, TODAY_STABILITY_OVERLAY);
        await write(`docker/docker-compose.${PROD_LANE}.yml`, TODAY_PROD_OVERLAY);
        await write('docker/runtime-policy.env', todayRuntimePolicy(health?.endpoints ?? {}));
        await write('scripts/sync-omnibase-env.py', await template('sync-omnibase-env.py'), 0o755);
      }
      await write(
        'scripts/deploy-runtime.sh',
        await template(today ? 'deploy-runtime-today.sh' : 'deploy-runtime.sh'),
        0o755,
      );
      await write('scripts/update-plugin-pins.py', await template('update-plugin-pins.py'), 0o755);
      await write('scripts/seed-infisical.py', await template('seed-infisical.py'), 0o755);
      await write('src/omnibase_infra/__init__.py', `__version__ = "${infraVersion}"\n`);
      await write('src/omnibase_infra/nodes/.gitkeep', '');
    };

    await Promise.all(
      (today ? TODAY_REPOS : REPOS).map(async (repo) => {
        const origin = path.join(originsDir, `${repo}.git`);
        const clone = path.join(omniHome, repo);
        await git(['init', '-q', '--bare', '-b', 'main', origin]);
        await git(['init', '-q', '-b', 'main', clone]);
        await repoFiles(repo, clone);
        await git(['add', '-A'], clone);
        await git(['commit', '-q', '-m', `Initial ${repo}`], clone);
        for (const tag of opts.tags?.[repo] ?? []) await git(['tag', '-a', tag, '-m', tag], clone);
        await git(['remote', 'add', 'origin', origin], clone);
        await git(['push', '-q', '--follow-tags', '-u', 'origin', 'main'], clone);
        if (!today) return;
        // Today development lands on dev, ahead of main; pull-all.sh leaves every clone on dev.
        await git(['switch', '-q', '-c', 'dev'], clone);
        await fs.writeFile(path.join(clone, 'DEV_ONLY.md'), `${repo}: on dev, not yet on main\n`);
        await git(['add', 'DEV_ONLY.md'], clone);
        await git(['commit', '-q', '-m', `Dev-only change to ${repo}`], clone);
        await git(['push', '-q', '-u', 'origin', 'dev'], clone);
        if (repo === 'omnibase_infra') devHead = await git(['rev-parse', 'HEAD'], clone);
      }),
    );

    await writeEnv(envFile, envVars);
    slack = await startSlackStandIn();
  } catch (err) {
    await close();
    throw err;
  }

  let upstreamCounter = 0;
  // Commit files on the bare origin through a throwaway clone; returns the new sha.
  const commitUpstream = async (
    repo: string,
    change: (dir: string) => Promise<string[]>,
    message: string,
    branch = 'main',
  ): Promise<string> => {
    const origin = path.join(originsDir, `${repo}.git`);
    if (!existsSync(origin)) throw new Error(`no origin for repo ${repo}`);
    const dir = await fs.mkdtemp(path.join(tmpDir, `${repo}-`));
    try {
      await git(['clone', '-q', '-b', branch, origin, dir]);
      const files = await change(dir);
      await git(['add', '--', ...files], dir);
      await git(['commit', '-q', '-m', message], dir);
      await git(['push', '-q', 'origin', `HEAD:${branch}`], dir);
      return await git(['rev-parse', 'HEAD'], dir);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  };

  const readLines = async (name: string): Promise<string[]> => {
    try {
      const text = await fs.readFile(path.join(invocationsDir, name), 'utf8');
      return text.split('\n').filter((l) => l.trim() !== '');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  };

  const sandbox: Sandbox = {
    profile,
    envVars,
    devHead,
    root,
    omniHome,
    originsDir,
    worktreeRoot,
    homeDir,
    deployRoot,
    deployLockDir,
    deployedFile,
    binDir,
    envFile,
    stateDir,
    skillResultsDir,
    env,
    health: health!,
    slack: slack!,
    async invocations(name) {
      return (await readLines(name)).length;
    },
    async invocationArgs(name) {
      return (await readLines(name)).map((l) => JSON.parse(l) as string[]);
    },
    async setFault(name, fault) {
      const p = path.join(faultsDir, `${name}.json`);
      await fs.writeFile(`${p}.tmp`, JSON.stringify(fault));
      await fs.rename(`${p}.tmp`, p);
    },
    async clearFault(name) {
      await fs.rm(path.join(faultsDir, `${name}.json`), { force: true });
    },
    writeEnvFile: (vars) => writeEnv(envFile, vars),
    async pushUpstreamCommit(repo, file, branch) {
      const n = ++upstreamCounter;
      const rel = file ?? `upstream-${n}.txt`;
      return commitUpstream(
        repo,
        async (dir) => {
          const p = path.join(dir, rel);
          await fs.mkdir(path.dirname(p), { recursive: true });
          await fs.appendFile(p, `upstream change ${n}\n`);
          return [rel];
        },
        `Upstream change ${n} to ${rel}`,
        branch,
      );
    },
    async addSyncEnvScript() {
      const content = await template('sync-omnibase-env.sh');
      await commitUpstream(
        'omnibase_infra',
        async (dir) => {
          const p = path.join(dir, 'scripts', 'sync-omnibase-env.sh');
          await fs.writeFile(p, content);
          await fs.chmod(p, 0o755);
          return ['scripts/sync-omnibase-env.sh'];
        },
        'Add scripts/sync-omnibase-env.sh',
      );
      const clone = path.join(omniHome, 'omnibase_infra');
      if ((await git(['symbolic-ref', '--short', '-q', 'HEAD'], clone).catch(() => '')) === 'main') {
        await git(['pull', '-q', '--ff-only'], clone);
      }
    },
    async deployedPins() {
      try {
        return JSON.parse(await fs.readFile(deployedFile, 'utf8')) as Record<string, string>;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
        throw e;
      }
    },
    async deployedRevision() {
      try {
        return (await fs.readFile(path.join(root, 'deployed-revision'), 'utf8')).trim();
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw e;
      }
    },
    async pushBranch(branch) {
      const origin = path.join(originsDir, 'omnibase_infra.git');
      const dir = await fs.mkdtemp(path.join(tmpDir, 'branch-'));
      try {
        await git(['clone', '-q', '-b', 'main', origin, dir]);
        await git(['switch', '-q', '-c', branch], dir);
        await fs.writeFile(path.join(dir, 'AUTOMATION.md'), `${branch}\n`);
        await git(['add', 'AUTOMATION.md'], dir);
        await git(['commit', '-q', '-m', `chore(deps): ${branch}`], dir);
        await git(['push', '-q', 'origin', `HEAD:refs/heads/${branch}`], dir);
        return await git(['rev-parse', 'HEAD'], dir);
      } finally {
        await fs.rm(dir, { recursive: true, force: true });
      }
    },
    close,
  };
  return sandbox;
}

/** Same as `sandbox.addSyncEnvScript()`. */
export function addSyncEnvScript(sandbox: Sandbox): Promise<void> {
  return sandbox.addSyncEnvScript();
}

async function writeEnv(file: string, vars: Record<string, string>): Promise<void> {
  const lines = Object.entries(vars).map(([k, v]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`invalid env var name: ${k}`);
    return `${k}=${shellQuoteDouble(v)}`;
  });
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(`${file}.tmp`, `# Written by the redeploy test sandbox\n${lines.join('\n')}\n`, {
    mode: 0o600,
  });
  await fs.rename(`${file}.tmp`, file);
}
