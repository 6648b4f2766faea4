import { Connection, Client } from '@temporalio/client';
import type { NativeConnection } from '@temporalio/worker';
import { CliError, EXIT_FAILED } from '../core/errors.js';
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

export class TemporalUnreachable extends CliError {
  constructor(address: string, cause: unknown) {
    super(
      `Cannot reach Temporal at ${address}. Start a local server with \`temporal server start-dev\` ` +
        `(see \`npm run temporal:cli\`), or set TEMPORAL_ADDRESS.`,
      EXIT_FAILED,
      { cause },
    );
  }
}

/** The server answered but would not talk to us: TLS or certificate trouble, said in operator terms. */
export class TemporalRefused extends CliError {
  constructor(address: string, reason: string, cause: unknown) {
    super(`Temporal at ${address} refused the connection: ${reason}`, EXIT_FAILED, { cause, prefixed: true });
  }
}

const UNREACHABLE = /ConnectionRefused|Connection refused|os error 111|timed out|deadline|dns error/i;
const SERVER_CERT = /InvalidCertificate|UnknownIssuer|NotValidForName|BadSignature|CertExpired/;
// `Canceled`: the server closed the connection right after the handshake, before its alert was read.
const HANDSHAKE =
  /BrokenPipe|ConnectionReset|UnexpectedEof|InvalidContentType|CorruptMessage|HandshakeFailure|Canceled/;
const ALERT = /CertificateRequired|UnknownCA|BadCertificate|CertificateUnknown|DecryptError/;

/**
 * Why a server that answered would not talk to us, from the native (Rust) connection's error and what
 * was configured (the alert the server sends can be lost when it closes at once, so the configuration
 * decides between "no certificate" and "a certificate it does not accept"); undefined: not a refusal.
 */
function refusal(config: Config, err: unknown): TemporalRefused | undefined {
  const text = err instanceof Error ? err.message : String(err);
  const address = config.temporal.address;
  if (UNREACHABLE.test(text)) return undefined;
  const tls = config.temporal.connection.tls;
  const refused = (reason: string) => new TemporalRefused(address, reason, err);
  if (!tls) {
    return HANDSHAKE.test(text)
      ? refused(
          'it closed the connection during the handshake — it probably requires TLS (set TEMPORAL_TLS=true, TEMPORAL_TLS_SERVER_CA_CERT_PATH and a client certificate)',
        )
      : undefined;
  }
  if (SERVER_CERT.test(text))
    return refused(
      'its certificate is not trusted for this name (check TEMPORAL_TLS_SERVER_CA_CERT_PATH and TEMPORAL_TLS_SERVER_NAME)',
    );
  if (!ALERT.test(text) && !HANDSHAKE.test(text)) return undefined;
  return typeof tls === 'object' && tls.clientCertPair
    ? refused(
        'it does not accept this client certificate (not signed by the CA the cluster trusts; see TEMPORAL_TLS_CLIENT_CERT_PATH)',
      )
    : refused(
        'it requires a client certificate (set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH)',
      );
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
    const attempt = () =>
      nativeConnect(config).then(
        async (c) => void (await c.close()),
        (e: unknown) => e,
      );
    let probe = await attempt();
    // A server that rejects a certificate may close before its alert is read: ask once more for it.
    if (probe && !ALERT.test(String(probe)) && HANDSHAKE.test(String(probe)))
      probe = (await attempt()) ?? probe;
    throw refusal(config, probe) ?? new TemporalUnreachable(config.temporal.address, err);
  }
}

export async function connectWorker(config: Config): Promise<NativeConnection> {
  try {
    return await nativeConnect(config);
  } catch (err) {
    throw refusal(config, err) ?? new TemporalUnreachable(config.temporal.address, err);
  }
}

export function workflowUrl(config: Config, workflowId: string): string {
  return `${config.temporal.uiUrl}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
