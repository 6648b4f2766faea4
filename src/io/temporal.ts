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

/** The server answered but would not talk to us: TLS or certificate trouble, said in operator terms. */
export class TemporalRefused extends Error {
  constructor(address: string, reason: string, cause: unknown) {
    super(`Temporal at ${address} refused the connection: ${reason}`, { cause });
    this.name = 'TemporalRefused';
  }
}

// The TLS failures the SDK's native (Rust) connection reports, in order of precedence.
const REFUSALS: [RegExp, string][] = [
  [
    /CertificateRequired/,
    'it requires a client certificate (set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)',
  ],
  [
    /UnknownCA|BadCertificate|CertificateUnknown|DecryptError/,
    'it does not accept this client certificate (not signed by the CA the cluster trusts; see TEMPORAL_TLS_CLIENT_CERT_PATH)',
  ],
  [
    /InvalidCertificate|UnknownIssuer|NotValidForName|certificate/i,
    'its certificate is not trusted for this name (check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME)',
  ],
  [
    /BrokenPipe|ConnectionReset|InvalidContentType|CorruptMessage|HandshakeFailure/,
    'it closed the connection during the handshake — it probably requires TLS (set TEMPORAL_TLS=true, TEMPORAL_TLS_SERVER_CA_CERT_PATH and a client certificate)',
  ],
];

function refusal(address: string, err: unknown): TemporalRefused | undefined {
  const text = err instanceof Error ? err.message : String(err);
  const hit = REFUSALS.find(([re]) => re.test(text));
  return hit ? new TemporalRefused(address, hit[1], err) : undefined;
}

async function nativeConnect(config: Config): Promise<NativeConnection> {
  // Loaded here, not at the top: CLI commands that never run a worker skip ~150 ms of module loading.
  const { NativeConnection } = await import('@temporalio/worker');
  return NativeConnection.connect(options(config));
}

export async function connectClient(config: Config): Promise<Client> {
  try {
    const connection = await Connection.connect({ ...options(config), connectTimeout: '5s' });
    return new Client({ connection, namespace: config.temporal.namespace });
  } catch (err) {
    // The JS client says only "Failed to connect before the deadline"; the native connection names the
    // TLS alert. Asked only on this failure path, so a healthy start pays nothing.
    const probe = await nativeConnect(config).then(
      async (c) => void (await c.close()),
      (e: unknown) => e,
    );
    throw refusal(config.temporal.address, probe) ?? new TemporalUnreachable(config.temporal.address, err);
  }
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  try {
    return await nativeConnect(config);
  } catch (err) {
    throw refusal(config.temporal.address, err) ?? new TemporalUnreachable(config.temporal.address, err);
  }
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
