// Real HTTP server on 127.0.0.1 standing in for Slack's Web API (chat.postMessage)
// and an incoming webhook.
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackRequest {
  kind: 'chat.postMessage' | 'webhook';
  headers: http.IncomingHttpHeaders;
  /** Parsed body: JSON, or form fields (JSON-valued form fields such as `blocks` decoded). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read arbitrary payload fields
  body: any;
}

export interface SlackFailResponse {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface SlackStandIn {
  /** 'http://127.0.0.1:PORT/api/' — the value for WebClient's `slackApiUrl` option. */
  apiUrl: string;
  webhookUrl: string;
  token: string;
  channel: string;
  /** Every chat.postMessage / webhook request, including ones answered by failNext. */
  requests: SlackRequest[];
  /** The next n requests get this response instead of the normal one. */
  failNext(n: number, response: SlackFailResponse): void;
  /** The next n posts are recorded (and delivered) at once but answered only after `ms`: a post in flight. */
  delayNext(n: number, ms: number): void;
  /** Messages delivered by chat.postMessage, oldest first (what conversations.history answers from). */
  delivered: { channel: string; text: string; ts: string }[];
  close(): Promise<void>;
}

const TOKEN = 'xoxb-test-token-abc123';
const CHANNEL = 'C0TEST123';
const WEBHOOK_PATH = '/webhook/T000/B000/XXXX';
const TS = '1700000000.000100';

function parseBody(raw: string, contentType: string | undefined): unknown {
  if (raw === '') return {};
  if (contentType?.includes('application/x-www-form-urlencoded')) {
    const fields: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
    // WebClient form-encodes structured arguments as JSON strings.
    for (const [k, v] of Object.entries(fields)) {
      if (typeof v === 'string' && /^\s*[[{]/.test(v)) {
        try {
          fields[k] = JSON.parse(v) as unknown;
        } catch {
          /* leave as string */
        }
      }
    }
    return fields;
  }
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return raw;
  }
}

function send(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const isText = typeof body === 'string';
  const text = body === undefined ? '' : isText ? body : JSON.stringify(body);
  res.writeHead(status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    'content-length': String(Buffer.byteLength(text)),
    ...headers,
  });
  res.end(text);
}

function asRecord(body: unknown): Record<string, unknown> {
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : {};
}

function hasContent(payload: unknown): boolean {
  const body = asRecord(payload);
  const nonEmpty = (v: unknown): boolean =>
    (typeof v === 'string' && v.trim() !== '') || (Array.isArray(v) && v.length > 0);
  return nonEmpty(body.text) || nonEmpty(body.blocks) || nonEmpty(body.attachments);
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const requests: SlackRequest[] = [];
  let failures: { remaining: number; response: SlackFailResponse } | null = null;
  let delays: { remaining: number; ms: number } | null = null;
  const delivered: { channel: string; text: string; ts: string }[] = [];

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '/').split('?')[0];
      let kind: SlackRequest['kind'];
      if (req.method === 'POST' && path === '/api/conversations.history') {
        // Read-only, never failed or delayed: the channel's delivered messages, newest first.
        const fields = asRecord(
          parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type']),
        );
        if (req.headers.authorization !== `Bearer ${TOKEN}`)
          send(res, 200, { ok: false, error: 'not_authed' });
        else if (fields.channel !== CHANNEL) send(res, 200, { ok: false, error: 'channel_not_found' });
        else
          send(res, 200, {
            ok: true,
            // `oldest` is not applied: every message carries the same fixed ts.
            // Slack keeps message text with &, < and > as entities and links wrapped as <url>.
            messages: [...delivered].reverse().map((m) => ({
              type: 'message',
              text: m.text
                .replace(/&/g, '&amp;')
                .replace(/</g, '&lt;')
                .replace(/>/g, '&gt;')
                .replace(/https?:\/\/[^\s<>&]+/g, (url) => `<${url}>`),
              ts: m.ts,
            })),
            has_more: false,
          });
        return;
      }
      if (req.method === 'POST' && path === '/api/chat.postMessage') kind = 'chat.postMessage';
      else if (req.method === 'POST' && path?.startsWith('/webhook/')) kind = 'webhook';
      else {
        send(res, 404, { ok: false, error: 'unknown_method' });
        return;
      }
      const body = parseBody(Buffer.concat(chunks).toString('utf8'), req.headers['content-type']);
      requests.push({ kind, headers: req.headers, body });

      if (failures && failures.remaining > 0) {
        const { response } = failures;
        failures.remaining -= 1;
        if (failures.remaining === 0) failures = null;
        send(res, response.status, response.body, response.headers);
        return;
      }

      if (kind === 'webhook') {
        // Slack answers bad webhook URLs / payloads with plain-text errors.
        if (path !== WEBHOOK_PATH) send(res, 404, 'no_service');
        else if (!hasContent(body)) send(res, 400, 'no_text');
        else send(res, 200, 'ok');
        return;
      }
      // The Web API answers 200 with ok:false for application-level errors.
      if (req.headers.authorization !== `Bearer ${TOKEN}`) {
        send(res, 200, { ok: false, error: req.headers.authorization ? 'invalid_auth' : 'not_authed' });
        return;
      }
      const fields = asRecord(body);
      if (fields.channel !== CHANNEL) {
        send(res, 200, { ok: false, error: 'channel_not_found' });
        return;
      }
      if (!hasContent(body)) {
        send(res, 200, { ok: false, error: 'no_text' });
        return;
      }
      delivered.push({ channel: CHANNEL, text: String(fields.text ?? ''), ts: TS });
      const answer = () =>
        send(res, 200, {
          ok: true,
          channel: CHANNEL,
          ts: TS,
          message: {
            type: 'message',
            text: fields.text ?? '',
            ts: TS,
            ...(fields.blocks ? { blocks: fields.blocks } : {}),
          },
        });
      if (delays && delays.remaining > 0) {
        const { ms } = delays;
        delays.remaining -= 1;
        if (delays.remaining === 0) delays = null;
        setTimeout(answer, ms).unref();
      } else answer();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${base}/api/`,
    webhookUrl: `${base}${WEBHOOK_PATH}`,
    token: TOKEN,
    channel: CHANNEL,
    requests,
    failNext(n, response) {
      failures = n > 0 ? { remaining: n, response } : null;
    },
    delayNext(n, ms) {
      delays = n > 0 ? { remaining: n, ms } : null;
    },
    delivered,
    close: () =>
      new Promise<void>((resolve) => {
        if (!server.listening) {
          resolve();
          return;
        }
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
