import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { alive } from './io/pid.js';

/**
 * The embedded worker's supervisor (`node dist/src/supervisor.js <server pid>`), started detached by
 * io/embedded.ts beside the background dev server. It runs `node dist/src/worker.js` for the default task
 * queue, restarts it when it dies (1 s, doubling to 30 s; back to 1 s after a minute up), and ends with
 * the server: when the server's pid is gone, or on SIGTERM (`redeploy server --stop`), it stops the worker
 * (SIGTERM: a graceful shutdown) and exits. Output of both goes to the log it was started with.
 */
export const WORKER_ENTRY = fileURLToPath(new URL('./worker.js', import.meta.url));

const log = (line: string) => process.stderr.write(`${new Date().toISOString()} [supervisor] ${line}\n`);

export async function supervise(serverPid: number): Promise<void> {
  let stopping = false;
  let child: ResultPromise | undefined;
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    log(`stopping the worker (${why})`);
    child?.kill('SIGTERM');
    // A worker still shutting down after 10 s is killed.
    setTimeout(() => child?.kill('SIGKILL'), 10_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const watchServer = setInterval(() => {
    if (!alive(serverPid)) stop(`the dev server (pid ${serverPid}) is gone`);
  }, 1000);
  let backoffMs = 1000;
  try {
    while (!stopping) {
      const startedAt = Date.now();
      child = execa(process.execPath, [WORKER_ENTRY], {
        env: { REDEPLOY_SUPERVISOR_PID: String(process.pid) },
        stdin: 'ignore',
        stdout: 'inherit',
        stderr: 'inherit',
        reject: false,
      });
      log(`worker started (pid ${child.pid ?? '?'})`);
      const r = await child;
      if (stopping) break;
      log(`worker exited (${r.signal ?? `code ${r.exitCode}`}); restarting in ${backoffMs / 1000} s`);
      if (Date.now() - startedAt > 60_000) backoffMs = 1000;
      for (let waited = 0; waited < backoffMs && !stopping; waited += 100) await sleep(100);
      backoffMs = Math.min(backoffMs * 2, 30_000);
    }
  } finally {
    clearInterval(watchServer);
  }
  log('stopped');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  const serverPid = Number(process.argv[2]);
  if (!Number.isInteger(serverPid) || serverPid <= 0) {
    process.stderr.write('usage: supervisor.js <dev server pid>\n');
    process.exit(2);
  }
  supervise(serverPid).then(
    () => process.exit(0),
    (err: unknown) => {
      log(err instanceof Error ? err.message : String(err));
      process.exit(1);
    },
  );
}
