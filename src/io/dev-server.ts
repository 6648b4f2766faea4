import fs from 'node:fs';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Connection } from '@temporalio/client';
import { execa, type ResultPromise } from 'execa';
import { SEARCH_ATTRIBUTES } from '../core/search-attributes.js';

export { SEARCH_ATTRIBUTES };

/**
 * A loopback port that is free now, chosen below the kernel's ephemeral range. Why: a port taken from
 * `listen(0)` and released is the kernel's to hand out again — to the dev server's own internal listeners
 * (which it also picks with `listen(0)`) or to an outgoing connection — and `start-dev` then dies with a panic
 * on a bind. Ports outside that range are only ever taken by someone naming them.
 */
export async function freePort(): Promise<number> {
  const low = ephemeralLow();
  for (let attempt = 0; attempt < 40 && low > 10_001; attempt++) {
    const port = 10_000 + Math.floor(Math.random() * (low - 10_000));
    if (await listensOn(port)) return port;
  }
  return anyPort();
}

/** The first port of the kernel's ephemeral range (Linux); 32768, its default, where it cannot be read. */
function ephemeralLow(): number {
  try {
    const low = Number(
      fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0],
    );
    return Number.isInteger(low) && low > 0 && low < 65_536 ? low : 32_768;
  } catch {
    return 32_768;
  }
}

function listensOn(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyPort(): Promise<number> {
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
 * (The SDK's own launcher allows 5 s for start-up, too little on a loaded 2-core machine.) When it picked
 * the ports itself and the server dies at start-up (a port taken in between), it tries twice more on new ones.
 */
export async function startDevServer(opts: DevServerOptions): Promise<DevServer> {
  const ownPorts = opts.port === undefined && opts.uiPort === undefined;
  for (let attempt = 1; ; attempt++) {
    const started = await launch(opts, opts.port ?? (await freePort()), opts.uiPort ?? (await freePort()));
    if ('address' in started) return started;
    if (!ownPorts || attempt === 3)
      throw new Error(`temporal server start-dev exited early:\n${started.output}`);
    opts.log?.(`[temporal] start-dev exited at start-up (attempt ${attempt}); trying again on other ports`);
  }
}

/** What the server printed: its first lines (a panic's message) and its last, within about 8 KB. */
class OutputKeeper {
  private head = '';
  private tail = '';
  private dropped = false;
  add(chunk: string): void {
    if (this.head.length < 4000) {
      const room = 4000 - this.head.length;
      this.head += chunk.slice(0, room);
      chunk = chunk.slice(room);
    }
    const joined = this.tail + chunk;
    if (joined.length > 4000) this.dropped = true;
    this.tail = joined.slice(-4000);
  }
  toString(): string {
    return this.dropped ? `${this.head}\n[…]\n${this.tail}` : this.head + this.tail;
  }
}

async function launch(
  opts: DevServerOptions,
  port: number,
  uiPort: number,
): Promise<DevServer | { output: string }> {
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
  const output = new OutputKeeper();
  child.all?.on('data', (d: Buffer) => output.add(d.toString()));
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (exited) return { output: String(output) };
    try {
      const connection = await Connection.connect({ address, connectTimeout: '1s' });
      await connection.workflowService.getSystemInfo({});
      await connection.close();
      break;
    } catch {
      if (exited) return { output: String(output) };
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(
          `temporal dev server did not answer on ${address} within ${opts.readyTimeoutMs ?? 60_000} ms:\n${String(output)}`,
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
