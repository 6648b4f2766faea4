// Real HTTP health endpoints on 127.0.0.1 standing in for the runtime containers' /health.
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export const DEFAULT_HEALTH_SERVICES: readonly string[] = [
  'omninode-runtime',
  'intelligence-api',
  'omninode-contract-resolver',
];

export interface HealthServers {
  /** service name → http://127.0.0.1:<port>/health */
  endpoints: Record<string, string>;
  /** Answer /health with `status` (default 503) until setUp/setUpAfter. */
  setDown(name: string, status?: number): void;
  setUp(name: string): void;
  /** Down (503) until `ms` have elapsed from now, then healthy. */
  setUpAfter(name: string, ms: number): void;
  /** Requests received by that service's server (any path). */
  requests(name: string): number;
  close(): Promise<void>;
}

interface ServiceState {
  server: http.Server;
  count: number;
  downStatus: number | null;
  upAt: number | null;
}

function readPins(deployedFile: string): unknown {
  try {
    return JSON.parse(readFileSync(deployedFile, 'utf8')) as unknown;
  } catch {
    return {};
  }
}

function sendJson(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

export async function startHealthServers(
  names: string[] = [...DEFAULT_HEALTH_SERVICES],
  deployedFile: string,
): Promise<HealthServers> {
  const states = new Map<string, ServiceState>();
  const endpoints: Record<string, string> = {};

  const state = (name: string): ServiceState => {
    const s = states.get(name);
    if (!s) throw new Error(`unknown health service: ${name}`);
    return s;
  };

  try {
    for (const name of names) {
      const s: ServiceState = { server: http.createServer(), count: 0, downStatus: null, upAt: null };
      s.server.on('request', (req, res) => {
        s.count += 1;
        const path = (req.url ?? '/').split('?')[0];
        if (req.method !== 'GET' || path !== '/health') {
          sendJson(res, 404, { error: 'not found' });
          return;
        }
        let down: number | null = s.downStatus;
        if (s.upAt !== null) down = Date.now() < s.upAt ? 503 : null;
        if (down !== null) {
          sendJson(res, down, { status: 'unhealthy', service: name });
          return;
        }
        sendJson(res, 200, { status: 'healthy', service: name, pins: readPins(deployedFile) });
      });
      states.set(name, s);
      await new Promise<void>((resolve, reject) => {
        s.server.once('error', reject);
        s.server.listen(0, '127.0.0.1', () => resolve());
      });
      const { port } = s.server.address() as AddressInfo;
      endpoints[name] = `http://127.0.0.1:${port}/health`;
    }
  } catch (err) {
    await closeAll(states);
    throw err;
  }

  return {
    endpoints,
    setDown(name, status = 503) {
      const s = state(name);
      s.downStatus = status;
      s.upAt = null;
    },
    setUp(name) {
      const s = state(name);
      s.downStatus = null;
      s.upAt = null;
    },
    setUpAfter(name, ms) {
      const s = state(name);
      s.downStatus = null;
      s.upAt = Date.now() + ms;
    },
    requests(name) {
      return state(name).count;
    },
    close: () => closeAll(states),
  };
}

async function closeAll(states: Map<string, ServiceState>): Promise<void> {
  await Promise.all(
    [...states.values()].map(
      ({ server }) =>
        new Promise<void>((resolve) => {
          if (!server.listening) {
            resolve();
            return;
          }
          // fetch keeps connections alive; without this close() waits for them.
          server.close(() => resolve());
          server.closeAllConnections();
        }),
    ),
  );
}
