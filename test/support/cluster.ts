// A real two-node Temporal cluster for test/cluster/: temporal-server 1.29.1 built from source, one
// PostgreSQL, all four services in each node, membership on loopback, mTLS with a throwaway CA made by
// the repo's own deploy/temporal/make-certs.sh. Schema, namespace and search attribute are set up by the
// same scripts docker-compose.temporal.yml runs, and the nodes read the same config file compose mounts.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { freePort } from '../../src/io/dev-server.js';
import { findTemporalCli } from '../../src/io/temporal-cli.js';
import { findTemporalServer, type TemporalServerBuild } from '../../src/io/temporal-server.js';
import { startFailoverProxy, type FailoverProxy } from './failover-proxy.js';
import { startPostgres, type Postgres } from './postgres.js';

/** deploy/temporal/ in the repository (compiled to dist/test/support/: three levels up is the root). */
export const TEMPORAL_DEPLOY_DIR = new URL('../../../deploy/temporal/', import.meta.url).pathname;
/** What both compose and the nodes here set: config dir and environment name inside TEMPORAL_ROOT. */
export const SERVER_CONFIG_ENV = { TEMPORAL_CONFIG_DIR: 'config', TEMPORAL_ENVIRONMENT: 'redeploy' } as const;
/** `temporal-server` arguments, as compose's temporal service runs it. */
export const SERVER_ARGS = ['--allow-no-auth', 'start'] as const;
/** The set-up scripts in TEMPORAL_DEPLOY_DIR that compose's one-shot jobs run. */
export const SETUP_SCRIPTS = { schema: 'setup-schema.sh', namespace: 'setup-namespace.sh' } as const;

export interface TemporalNode {
  name: string;
  /** 127.0.0.1:<frontend gRPC port> */
  frontend: string;
  logFile: string;
  /** The running process (its own process group), 0 when stopped. */
  pid(): number;
  start(): Promise<void>;
  /** SIGKILL, no shutdown: the node's shards and task queues must move to the other node. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export interface Cluster {
  build: TemporalServerBuild;
  pg: Postgres;
  nodes: [TemporalNode, TemporalNode];
  /** The address clients use: a TCP front that prefers node A and falls back to node B. */
  proxy: FailoverProxy;
  certsDir: string;
  /** TEMPORAL_* variables (envconfig) that connect a client or worker through the proxy with mTLS. */
  clientEnv: Record<string, string>;
  /** Runs deploy/temporal/setup-namespace.sh against `address` (what compose's temporal-setup job runs). */
  setupNamespace(address?: string): Promise<string>;
  close(): Promise<void>;
}

/** A free TCP port below 32768: membership ports are stored in a PostgreSQL smallint column. */
async function lowFreePort(taken: Set<number>): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    if (taken.has(port)) continue;
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) {
      taken.add(port);
      return port;
    }
  }
}

export function clientTlsEnv(certsDir: string, client = 'client'): Record<string, string> {
  return {
    TEMPORAL_TLS_CLIENT_CERT_PATH: path.join(certsDir, `${client}.pem`),
    TEMPORAL_TLS_CLIENT_KEY_PATH: path.join(certsDir, `${client}-key.pem`),
    TEMPORAL_TLS_SERVER_CA_CERT_PATH: path.join(certsDir, 'ca.pem'),
    // The node certificate names `temporal`, not the proxy's address.
    TEMPORAL_TLS_SERVER_NAME: 'temporal',
  };
}

/** deploy/temporal/make-certs.sh into a new temp dir. */
export async function makeCerts(prefix: string): Promise<string> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  await execa('sh', [path.join(TEMPORAL_DEPLOY_DIR, 'make-certs.sh'), dir]);
  return dir;
}

function startNode(
  name: string,
  build: TemporalServerBuild,
  env: Record<string, string>,
  frontend: string,
  logDir: string,
  waitServing: (address: string) => Promise<void>,
): TemporalNode {
  let child: ChildProcess | undefined;
  const logFile = path.join(logDir, `${name}.log`);
  const node: TemporalNode = {
    name,
    frontend,
    logFile,
    pid: () => (child?.exitCode === null ? (child.pid ?? 0) : 0),
    async start() {
      const log = fs.openSync(logFile, 'a');
      child = spawn(build.server, [...SERVER_ARGS], {
        env,
        stdio: ['ignore', log, log],
        detached: true,
      });
      fs.closeSync(log);
      const c = child;
      const died = new Promise<never>((_resolve, reject) =>
        c.once('exit', (code) =>
          reject(
            new Error(
              `temporal node ${name} exited (${code}) at start:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`,
            ),
          ),
        ),
      );
      died.catch(() => {});
      await Promise.race([waitServing(frontend), died]);
    },
    async kill() {
      const c = child;
      if (!c?.pid || c.exitCode !== null) return;
      const gone = new Promise((resolve) => c.once('exit', resolve));
      process.kill(-c.pid, 'SIGKILL');
      await gone;
    },
    async stop() {
      const c = child;
      if (!c?.pid || c.exitCode !== null) return;
      const gone = new Promise((resolve) => c.once('exit', resolve));
      process.kill(c.pid, 'SIGTERM');
      await Promise.race([gone, sleep(15_000)]);
      await node.kill();
    },
  };
  return node;
}

export async function startCluster(opts: { log?: (line: string) => void } = {}): Promise<Cluster> {
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const build = await findTemporalServer({ log });
  // Only the CLI binary (for health checks and setup-namespace.sh); no dev server is started.
  const cli = process.env['REDEPLOY_TEST_TEMPORAL_CLI'] ?? (await findTemporalCli({ log }));
  const t0 = Date.now();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-cluster-'));
  const certsDir = await makeCerts('redeploy-certs-');
  const pg = await startPostgres();
  const cleanups: (() => Promise<void>)[] = [async () => pg.close()];
  try {
    const dbEnv = {
      TEMPORAL_DB_HOST: '127.0.0.1',
      TEMPORAL_DB_PORT: String(pg.port),
      TEMPORAL_DB_USER: pg.user,
    };
    await execa('sh', [path.join(TEMPORAL_DEPLOY_DIR, SETUP_SCRIPTS.schema)], {
      env: {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        ...dbEnv,
        SQL_PASSWORD: pg.password,
        TEMPORAL_SQL_TOOL: build.sqlTool,
        TEMPORAL_SCHEMA_DIR: build.schemaDir,
      },
      extendEnv: false,
    });
    const tls = clientTlsEnv(certsDir);
    const cliEnv = (address: string) => ({
      PATH: process.env['PATH'] ?? '/usr/bin:/bin',
      HOME: workDir,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_CLI: cli,
      ...tls,
    });
    const waitServing = async (address: string) => {
      const deadline = Date.now() + 90_000;
      for (;;) {
        const r = await execa(cli, ['operator', 'cluster', 'health'], {
          env: cliEnv(address),
          extendEnv: false,
          reject: false,
        });
        if (r.exitCode === 0 && /\bSERVING\b/.test(r.stdout)) return;
        if (Date.now() > deadline) throw new Error(`frontend ${address} not serving: ${r.stdout}${r.stderr}`);
        await sleep(500);
      }
    };
    const taken = new Set<number>();
    const nodes: TemporalNode[] = [];
    for (const name of ['node-a', 'node-b']) {
      const ports = {
        TEMPORAL_FRONTEND_PORT: await freePort(),
        TEMPORAL_FRONTEND_HTTP_PORT: await freePort(),
        TEMPORAL_HISTORY_PORT: await freePort(),
        TEMPORAL_MATCHING_PORT: await freePort(),
        TEMPORAL_WORKER_PORT: await freePort(),
        TEMPORAL_FRONTEND_MEMBERSHIP_PORT: await lowFreePort(taken),
        TEMPORAL_HISTORY_MEMBERSHIP_PORT: await lowFreePort(taken),
        TEMPORAL_MATCHING_MEMBERSHIP_PORT: await lowFreePort(taken),
        TEMPORAL_WORKER_MEMBERSHIP_PORT: await lowFreePort(taken),
      };
      const env = {
        PATH: process.env['PATH'] ?? '/usr/bin:/bin',
        TEMPORAL_ROOT: TEMPORAL_DEPLOY_DIR,
        ...SERVER_CONFIG_ENV,
        ...dbEnv,
        TEMPORAL_DB_PASSWORD: pg.password,
        TEMPORAL_BIND_IP: '127.0.0.1',
        TEMPORAL_TLS_DIR: certsDir,
        TEMPORAL_LOG_LEVEL: 'warn',
        ...Object.fromEntries(Object.entries(ports).map(([k, v]) => [k, String(v)])),
      };
      const node = startNode(
        name,
        build,
        env,
        `127.0.0.1:${ports.TEMPORAL_FRONTEND_PORT}`,
        workDir,
        waitServing,
      );
      cleanups.push(() => node.stop());
      await node.start();
      nodes.push(node);
    }
    const setupNamespace = async (address = nodes[0]!.frontend) => {
      const r = await execa('sh', [path.join(TEMPORAL_DEPLOY_DIR, SETUP_SCRIPTS.namespace)], {
        env: cliEnv(address),
        extendEnv: false,
        all: true,
      });
      return r.all ?? '';
    };
    await setupNamespace();
    const proxy = await startFailoverProxy(nodes.map((n) => n.frontend));
    cleanups.push(() => proxy.close());
    log(`[cluster] two nodes on PostgreSQL :${pg.port} ready in ${Math.round((Date.now() - t0) / 1000)} s`);
    return {
      build,
      pg,
      nodes: nodes as [TemporalNode, TemporalNode],
      proxy,
      certsDir,
      clientEnv: { TEMPORAL_ADDRESS: proxy.address, ...tls },
      setupNamespace,
      async close() {
        for (const c of cleanups.reverse()) await c().catch(() => {});
        fs.rmSync(certsDir, { recursive: true, force: true });
        fs.rmSync(workDir, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    throw err;
  }
}
