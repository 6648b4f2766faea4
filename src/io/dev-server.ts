import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';

/** Custom search attributes the workflow upserts; registered at dev-server start. */
export const SEARCH_ATTRIBUTES = { RedeployPhase: 'Keyword' } as const;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export interface DevServer {
  address: string;
  uiUrl: string;
  stop(): Promise<void>;
}

export interface DevServerOptions {
  cli: string;
  port?: number;
  uiPort?: number;
  /** Persist to this SQLite file (history survives restarts); in-memory when absent. */
  dbFile?: string;
  namespace?: string;
  log?: (line: string) => void;
  /** Start-up wait; the first start after a build can take several seconds. */
  readyTimeoutMs?: number;
}

/**
 * Starts `temporal server start-dev` on loopback with our search attributes and waits until it answers.
 * (The SDK's own launcher allows 5 s for start-up, too little on a loaded 2-core machine.)
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--ui-port',
    String(uiPort),
    '--namespace',
    opts.namespace ?? 'default',
    '--log-level',
    'error',
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
    ...(opts.dbFile ? ['--db-filename', opts.dbFile] : []),
  ];
  const child: ResultPromise = execa(opts.cli, args, {
    reject: false,
    stdin: 'ignore',
    all: true,
    buffer: false,
    cleanup: true,
  });
  let exited = false;
  void child.then(() => (exited = true));
  let output = '';
  child.all?.on('data', (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) throw new Error(`temporal server start-dev exited early:\n${output}`);
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `temporal dev server did not answer on ${address} within ${opts.readyTimeoutMs ?? 60_000} ms:\n${output}`,
        );
      }
      await sleep(200);
    }
  }
  opts.log?.(`[temporal] dev server on ${address}, Web UI http://127.0.0.1:${uiPort}`);
  return {
    address,
    uiUrl: `http://127.0.0.1:${uiPort}`,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const done = await Promise.race([child.then(() => true), sleep(10_000).then(() => false)]);
      if (!done) child.kill('SIGKILL');
      await child.catch(() => undefined);
    },
  };
}
