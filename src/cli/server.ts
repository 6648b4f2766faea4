import path from 'node:path';
import type { Config } from '../io/config.js';
import { startDevServer } from '../io/dev-server.js';
import { answers, embeddedDir, stopEmbeddedServer } from '../io/embedded.js';
import { findTemporalCli } from '../io/temporal-cli.js';
import { connectWorker } from '../io/temporal.js';
import { prog } from '../io/invocation.js';

/**
 * `redeploy server`: the local Temporal dev server (history in the state dir, Web UI on) and a worker, in
 * the foreground until Ctrl-C. When a server already answers at the embedded address (one started in the
 * background by an earlier `redeploy`), only the worker runs here.
 */
export async function serve(
  config: Config,
  out: (line: string) => void,
  signal: AbortSignal,
): Promise<number> {
  if (config.temporal.configured) {
    out(
      `redeploy server runs the local dev server; TEMPORAL_ADDRESS (or a profile) points at ${config.temporal.address}. Use \`${prog()} worker\` there.`,
    );
    return 2;
  }
  let stop: (() => Promise<void>) | undefined;
  if (await answers(config.temporal.address)) {
    out(
      `[redeploy] a Temporal server already answers on ${config.temporal.address}; running the worker only`,
    );
  } else {
    const cli = await findTemporalCli({ log: out });
    const port = Number(config.temporal.address.split(':')[1]);
    const server = await startDevServer({
      cli,
      port,
      uiPort: config.temporal.embeddedUiPort,
      dbFile: path.join(embeddedDir(config), 'temporal.db'),
    });
    stop = () => server.stop();
    out(
      `[redeploy] Temporal dev server on ${server.address}, Web UI ${server.uiUrl}, history in ${embeddedDir(config)}/temporal.db`,
    );
  }
  const { createWorker, ensureSearchAttributes } = await import('../worker.js');
  const connection = await connectWorker(config);
  try {
    await ensureSearchAttributes(connection, config.temporal.namespace);
    const worker = await createWorker({ config, connection });
    out(`[redeploy] worker on task queue ${config.taskQueue}. Ctrl-C stops both.`);
    signal.addEventListener('abort', () => worker.shutdown(), { once: true });
    await worker.run();
  } finally {
    await connection.close();
    await stop?.();
  }
  return 0;
}

export async function serverStop(config: Config, out: (line: string) => void): Promise<number> {
  out(await stopEmbeddedServer(config));
  return 0;
}
