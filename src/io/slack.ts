import { WebClient } from '@slack/web-api';
import { IncomingWebhook } from '@slack/webhook';

/**
 * Slack delivery, mirroring the real node_slack_alerter_effect: bot token + channel via chat.postMessage
 * (response must be ok: true), else an incoming webhook, else "not configured". Retries are Temporal's
 * (the activity retry policy), so the clients here never retry on their own.
 */
export interface SlackMessage {
  text: string;
  title: string;
  fields: Record<string, string>;
}

export type SlackTarget =
  | { kind: 'bot'; token: string; channel: string; apiUrl?: string | undefined }
  | { kind: 'webhook'; url: string }
  | { kind: 'none' };

export type SlackSendResult =
  { ok: true; ts?: string } | { ok: false; retryable: boolean; error: string; retryAfterMs?: number };

export function slackTarget(env: Record<string, string>, apiUrl?: string): SlackTarget {
  if (env['SLACK_BOT_TOKEN'] && env['SLACK_CHANNEL_ID']) {
    return { kind: 'bot', token: env['SLACK_BOT_TOKEN'], channel: env['SLACK_CHANNEL_ID'], apiUrl };
  }
  if (env['SLACK_WEBHOOK_URL']) return { kind: 'webhook', url: env['SLACK_WEBHOOK_URL'] };
  return { kind: 'none' };
}

/** Block Kit: a header, the text, up to 10 fields (Slack's limit per section). */
export function blocks(message: SlackMessage) {
  const fields = Object.entries(message.fields)
    .slice(0, 10)
    .map(([k, v]) => ({ type: 'mrkdwn' as const, text: `*${k}*\n${v}`.slice(0, 2000) }));
  return [
    { type: 'header', text: { type: 'plain_text', text: message.title.slice(0, 150) } },
    { type: 'section', text: { type: 'mrkdwn', text: message.text.slice(0, 3000) } },
    ...(fields.length ? [{ type: 'section', fields }] : []),
  ];
}

const TRANSIENT_SLACK_ERRORS = new Set([
  'internal_error',
  'service_unavailable',
  'fatal_error',
  'request_timeout',
  'ratelimited',
]);
/** A hung request must end well before NOTIFY's 1-minute start-to-close, or a retry could post twice. */
const REQUEST_TIMEOUT_MS = 10_000;

interface SlackLikeError {
  code?: string;
  statusCode?: number;
  retryAfter?: number;
  data?: { error?: string };
  original?: { response?: { status?: number; headers?: Record<string, string> }; message?: string };
  message?: string;
}

function classify(err: unknown): SlackSendResult {
  const e = err as SlackLikeError;
  if (e.code === 'slack_webapi_rate_limited_error') {
    return {
      ok: false,
      retryable: true,
      error: 'rate limited (429)',
      retryAfterMs: (e.retryAfter ?? 1) * 1000,
    };
  }
  if (e.code === 'slack_webapi_platform_error') {
    const code = e.data?.error ?? 'unknown';
    // Slack's own hiccups are worth a retry; everything else (bad channel, bad token) is not.
    return {
      ok: false,
      retryable: TRANSIENT_SLACK_ERRORS.has(code),
      error: `Slack answered ok: false (${code})`,
    };
  }
  const status = e.statusCode ?? e.original?.response?.status;
  if (status === 429) {
    const after = Number(e.original?.response?.headers?.['retry-after'] ?? 1);
    return {
      ok: false,
      retryable: true,
      error: 'rate limited (429)',
      retryAfterMs: (Number.isFinite(after) ? after : 1) * 1000,
    };
  }
  if (status !== undefined) {
    // 4xx other than 429 will not get better by retrying (bad token, bad channel, revoked webhook).
    return { ok: false, retryable: status >= 500, error: `HTTP ${status}` };
  }
  const cause = (e.original as { cause?: { code?: string; message?: string } } | undefined)?.cause;
  const detail = cause?.code ?? cause?.message;
  return {
    ok: false,
    retryable: true,
    error: `${e.original?.message ?? e.message ?? String(err)}${detail ? ` (${detail})` : ''}`,
  };
}

/**
 * A message's text as it was sent, from the form Slack stores: links wrapped as `<url>` or `<url|label>`,
 * and &, < and > as entities.
 */
export function slackPlainText(stored: string): string {
  return stored
    .replace(/<((?:https?|mailto):[^|>]*)(?:\|[^>]*)?>/g, '$1')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&')
    .trim();
}

/**
 * Bot mode only: was a message with exactly this text delivered to the channel since `oldest` (epoch
 * seconds)? `undefined` when it cannot be told (a webhook, or no `channels:history` scope).
 */
export async function findDelivered(
  target: SlackTarget,
  text: string,
  oldest: number,
): Promise<{ ts: string } | null | undefined> {
  if (target.kind !== 'bot') return undefined;
  try {
    const client = new WebClient(target.token, {
      ...(target.apiUrl ? { slackApiUrl: target.apiUrl } : {}),
      retryConfig: { retries: 0 },
      timeout: REQUEST_TIMEOUT_MS,
    });
    const res = await client.conversations.history({
      channel: target.channel,
      oldest: String(oldest),
      limit: 100,
    });
    const hit = (res.messages ?? []).find((m) => slackPlainText(m.text ?? '') === text.trim());
    return hit ? { ts: hit.ts ?? '' } : null;
  } catch {
    return undefined;
  }
}

export async function sendSlack(target: SlackTarget, message: SlackMessage): Promise<SlackSendResult> {
  try {
    if (target.kind === 'bot') {
      const client = new WebClient(target.token, {
        ...(target.apiUrl ? { slackApiUrl: target.apiUrl } : {}),
        retryConfig: { retries: 0 },
        timeout: REQUEST_TIMEOUT_MS,
        rejectRateLimitedCalls: true,
      });
      const res = await client.chat.postMessage({
        channel: target.channel,
        text: message.text,
        blocks: blocks(message),
      });
      if (!res.ok)
        return { ok: false, retryable: false, error: `Slack answered ok: false (${res.error ?? 'unknown'})` };
      return res.ts ? { ok: true, ts: res.ts } : { ok: true };
    }
    if (target.kind === 'webhook') {
      const res = await new IncomingWebhook(target.url, { timeout: REQUEST_TIMEOUT_MS }).send({
        text: message.text,
        blocks: blocks(message),
      });
      if (res.text !== 'ok') return { ok: false, retryable: false, error: `webhook answered "${res.text}"` };
      return { ok: true };
    }
    return { ok: false, retryable: false, error: 'not configured' };
  } catch (err) {
    return classify(err);
  }
}
