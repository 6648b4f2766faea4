import { Connection, Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import type { Config } from './config.js';

/** Connection from the standard TEMPORAL_* variables and profiles (address, TLS, API key, metadata). */
function options(config: Config) {
  const { tls, apiKey, metadata } = config.temporal.connection;
  return {
    address: config.temporal.address,
    ...(tls !== undefined ? { tls } : {}),
    ...(apiKey !== undefined ? { apiKey } : {}),
    ...(metadata ? { metadata } : {}),
  };
}

export class TemporalUnreachable extends Error {
  constructor(address: string, cause: unknown) {
    super(
      `Cannot reach Temporal at ${address}. Start a local server with \`temporal server start-dev\` ` +
        `(see \`npm run temporal:cli\`), or set TEMPORAL_ADDRESS.`,
      { cause },
    );
    this.name = 'TemporalUnreachable';
  }
}

export async function connectClient(config: Config): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...options(config), connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    throw new TemporalUnreachable(config.temporal.address, err);
  }
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  // Loaded here, not at the top: CLI commands that never run a worker skip ~150 ms of module loading.
  const { NativeConnection } = await import('@temporalio/worker');
  try {
    return await NativeConnection.connect(options(config));
  } catch (err) {
    throw new TemporalUnreachable(config.temporal.address, err);
  }
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
