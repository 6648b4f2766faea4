import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes.js';

export { SEARCH_ATTRIBUTES };

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
 * `temporal server start-dev`'s arguments, on loopback, with our search attributes registered: one builder
 * for the test/bench server (in memory, quiet) and the zero-setup one (SQLite file, detached).
 */
export function startDevArgs(o: {
  port: number | string;
  uiPort: number;
  logLevel: 'error' | 'warn';
  /** Persist to this SQLite file; in memory when absent. */
  dbFile?: string;
  /** An extra namespace to create (`default` always exists). */
  namespace?: string;
}): string[] {
  return [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(o.port),
    '--ui-port',
    String(o.uiPort),
    ...(o.namespace ? ['--namespace', o.namespace] : []),
    ...(o.dbFile ? ['--db-filename', o.dbFile] : []),
    '--log-level',
    o.logLevel,
    ...Object.entries(SEARCH_ATTRIBUTES).flatMap(([name, type]) => ['--search-attribute', `${name}=${type}`]),
  ];
}

/**
 * Starts `temporal server start-dev` on loopback with our search attributes and waits until it answers.
 * (The SDK's own launcher allows 5 s for start-up, too little on a loaded 2-core machine.)
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const port = opts.port ?? (await freePort());
  const uiPort = opts.uiPort ?? (await freePort());
  const args = startDevArgs({
    port,
    uiPort,
    namespace: opts.namespace ?? 'default',
    logLevel: 'error',
    ...(opts.dbFile ? { dbFile: opts.dbFile } : {}),
  });
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
