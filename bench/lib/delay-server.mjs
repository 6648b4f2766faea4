// Health endpoints that answer 200 only after a fixed delay: a service that is up but slow to respond.
import { Buffer } from 'node:buffer';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';

/** `count` servers on 127.0.0.1; each GET /health answers 200 after `delayMs`. */
export async function startDelayedHealth(names, delayMs) {
  const servers = [];
  const endpoints = {};
  for (const name of names) {
    const server = http.createServer((req, res) => {
      void sleep(delayMs).then(() => {
        const body = JSON.stringify({ status: 'healthy', service: name });
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
        res.end(body);
      });
    });
    await new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', resolve);
    });
    servers.push(server);
    endpoints[name] = `http://127.0.0.1:${server.address().port}/health`;
  }
  return {
    endpoints,
    close: () =>
      Promise.all(
        servers.map(
          (s) =>
            new Promise((resolve) => {
              s.close(() => resolve());
              s.closeAllConnections(); // fetch keeps connections alive
            }),
        ),
      ),
  };
}
