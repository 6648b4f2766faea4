import type { Worker } from '@temporalio/worker';
import type { Config } from '../io/config.js';
import { connectWorker } from '../io/temporal.js';

/**
 * Embedded mode runs a worker inside the CLI process while a command follows a run, so a newcomer needs
 * no separate `redeploy worker`. When the CLI exits the run pauses (durably) until the next one attaches.
 */
export function localWorkerFactory(config: Config) {
  let worker: Worker | undefined;
  let running: Promise<void> | undefined;
  let close: (() => Promise<void>) | undefined;
  return {
    async start(taskQueue: string): Promise<void> {
      if (worker) return;
      const { createWorker, ensureSearchAttributes } = await import('../worker.js');
      // The CLI's own output is the progress; the SDK's worker chatter (and full failure dumps, which the
      // state already carries) would bury it. Errors still show.
      const { Runtime, DefaultLogger } = await import('@temporalio/worker');
      try {
        Runtime.install({ logger: new DefaultLogger('ERROR') });
      } catch {
        // already installed in this process
      }
      const connection = await connectWorker(config);
      await ensureSearchAttributes(connection, config.temporal.namespace);
      worker = await createWorker({ config, connection, taskQueue });
      running = worker.run();
      close = () => connection.close();
    },
    async stop(): Promise<void> {
      if (!worker) return;
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running?.catch(() => undefined);
      await close?.();
    },
  };
}
