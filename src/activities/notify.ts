import type { PhaseResult } from '../core/run.js';
import type { NotifyDetails } from '../core/details.js';
import path from 'node:path';
import type { Phase, PhaseStatus } from '../core/phases.js';
import type { Provenance } from '../core/provenance.js';
import { alertHeadline, provenanceLines, summaryLines, type FailureKind } from '../core/summary.js';
import type { Versions } from '../core/versions.js';
import { formatPins, resumeCommand, type RedeployFlags } from '../core/state.js';
import { workflowUrl } from '../io/temporal.js';
import { writeFileAtomic } from '../io/atomic.js';
import { readRegularFile } from '../io/safe-read.js';
import { findDelivered, sendSlack, slackTarget, type SlackMessage } from '../io/slack.js';
import { PhaseError, withPhase, type ActivityDeps, type PhaseContext } from './context.js';

export type Tier = 'FULL_ONEX' | 'EVENT_BUS' | 'STANDALONE';

export interface NotifyInput {
  versions: Versions;
  phases: Record<Phase, PhaseStatus>;
  /** What the message reports; one message per run outcome. */
  outcome: 'complete';
  /** What was deployed (origin ref and commit, Dockerfile SHA-256, script); absent in older histories. */
  provenance?: Provenance;
  /** The run's ticket: its worktree path is shown unmasked in the message. */
  ticket?: string;
}

/** Tier detection per contract: ONEX_TIER, else the omniclaude import probe, else Kafka, else standalone. */
async function detectTier(ctx: PhaseContext): Promise<Tier> {
  const declared = ctx.env['ONEX_TIER'];
  if (declared === 'FULL_ONEX' || declared === 'EVENT_BUS' || declared === 'STANDALONE') return declared;
  const probe = await ctx.run(
    {
      file: 'python3',
      // Isolated, from `/`: with OMNI_HOME as cwd a stray OMNI_HOME/omniclaude.py was imported as root.
      args: ['-I', '-c', 'import omniclaude.nodes.node_git_effect.models'],
      cwd: '/',
    },
    { timeoutMs: 30_000 },
  );
  if (probe.exitCode === 0) return 'FULL_ONEX';
  return ctx.env['KAFKA_BOOTSTRAP_SERVERS'] ? 'EVENT_BUS' : 'STANDALONE';
}

/** What a `.sent` marker recorded (an object), or nothing when it is not one: it is only a record. */
function markerRecord(text: string): Record<string, unknown> {
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/** Posts once per key: a marker file makes a retried activity not post the same message twice. */
async function deliver(
  ctx: PhaseContext,
  tier: Tier,
  key: string,
  lines: string[],
  message: SlackMessage,
): Promise<NotifyDetails> {
  const target =
    tier === 'FULL_ONEX' ? slackTarget(ctx.env, ctx.config.slackApiUrl) : ({ kind: 'none' } as const);
  if (target.kind === 'none') {
    const note =
      tier === 'FULL_ONEX'
        ? 'Slack not configured (SLACK_BOT_TOKEN + SLACK_CHANNEL_ID, or SLACK_WEBHOOK_URL)'
        : undefined;
    if (note) ctx.log(`NOTIFY: ${note}; printing the summary instead`);
    return { tier, channel: 'stdout', message: lines.join('\n'), ...(note ? { note } : {}) };
  }
  const channel = target.kind === 'bot' ? 'slack-bot' : 'slack-webhook';
  const marker = path.join(path.dirname(ctx.logFile), `NOTIFY.${key}.sent`);
  // Markers live in the log dir, which anyone with the home directory can write: read them safely.
  const sent = await readRegularFile(marker, { maxBytes: 64 * 1024, noFollow: true }).catch(() => undefined);
  if (sent !== undefined) {
    ctx.log(`NOTIFY: already sent (${marker}); not posting again`);
    return { tier, channel, message: lines.join('\n'), ...markerRecord(sent), duplicate_suppressed: true };
  }
  const text = ctx.mask(message.text);
  // A post whose answer never came back (the worker died mid-request) may have been delivered. The
  // `.sending` marker says one was started; in bot mode the channel is asked before posting again.
  const sending = `${marker.slice(0, -'.sent'.length)}.sending`;
  const started = await readRegularFile(sending, { maxBytes: 64 * 1024, noFollow: true }).catch(
    () => undefined,
  );
  if (started !== undefined) {
    const since = Math.floor(Date.parse(started) / 1000) - 60; // a minute of clock skew with Slack
    const found = await findDelivered(target, text, Number.isFinite(since) ? since : 0);
    if (found) {
      const record = { slack_ts: found.ts || null };
      await writeFileAtomic(marker, JSON.stringify(record), 0o600);
      ctx.log(`NOTIFY: an earlier attempt's post was delivered (found in the channel); not posting again`);
      return { tier, channel, message: lines.join('\n'), ...record, duplicate_suppressed: true };
    }
    ctx.log(
      found === null
        ? 'NOTIFY: an earlier attempt did not deliver its post; posting'
        : 'NOTIFY: an earlier attempt may have posted (a webhook cannot be asked); posting again',
    );
  }
  await writeFileAtomic(sending, new Date().toISOString(), 0o600);
  const result = await sendSlack(target, {
    title: ctx.mask(message.title),
    text,
    fields: Object.fromEntries(Object.entries(message.fields).map(([k, v]) => [k, ctx.mask(v)])),
  });
  if (!result.ok) {
    throw new PhaseError('SlackFailed', `Slack ${channel} post failed: ${result.error}`, {
      retryable: result.retryable,
      details: { tier, channel },
      nextRetryDelayMs: result.retryAfterMs,
    });
  }
  const record = { slack_ts: result.ts ?? null };
  await writeFileAtomic(marker, JSON.stringify(record), 0o600);
  ctx.log(`NOTIFY: posted to Slack (${channel})`);
  return { tier, channel, message: lines.join('\n'), ...record };
}

/** NOTIFY: Slack when the tier is FULL_ONEX, else the summary for stdout (the CLI prints it). */
export function makeNotify(deps: ActivityDeps) {
  return async function notify(runId: string, input: NotifyInput): Promise<PhaseResult<'NOTIFY'>> {
    return withPhase(
      deps,
      'NOTIFY',
      runId,
      async (ctx) => {
        const tier = await detectTier(ctx);
        const lines = summaryLines(runId, input);
        for (const line of lines) ctx.log(line);
        const message: SlackMessage = {
          title: `redeploy ${runId} ${input.outcome}`,
          text: lines.join('\n'),
          fields: {
            Pins: lines[1]?.replace('  Pins: ', '') ?? '',
            Phases: lines[2]?.replace('  Phases: ', '') ?? '',
          },
        };
        return { details: {}, output: await deliver(ctx, tier, input.outcome, lines, message) };
      },
      input.ticket ? { ticket: input.ticket } : {},
    );
  };
}

export type { FailureKind } from '../core/summary.js';

export interface FailureNotice {
  kind: FailureKind;
  /** Unique per run and event (e.g. `failed-DEPLOY-2`): the marker that stops a retried activity posting twice. */
  key: string;
  phase: Phase | null;
  /** The failure as the failed activity reported it (masked there; masked again here). */
  error: string;
  versions: Versions;
  /** The run's flags: the resume command must repeat them. */
  flags: RedeployFlags;
  target: string | null;
  /** For rolled_back: the pins restored. */
  rolledBackTo?: Versions;
  /** What the run had fetched and deployed when it failed. */
  provenance?: Provenance;
  /** DEPLOY's status then: the message says "Deployed: nothing" unless it completed (absent in older histories). */
  deploy?: PhaseStatus;
  ticket?: string;
}

function headline(n: FailureNotice): string {
  return alertHeadline(n.kind, n.phase, n.rolledBackTo);
}

/** The failure message: phase, the error's tail, the Web UI link and the exact command to continue. */
export function failureLines(runId: string, n: FailureNotice, url: string): string[] {
  const tail = n.error
    .split('\n')
    .filter((l) => l.trim())
    .slice(-5);
  return [
    `[redeploy] ${runId} ${headline(n)}`,
    `  Phase: ${n.phase ?? '—'}`,
    `  Error: ${tail.join('\n    ')}`,
    `  Web UI: ${url}`,
    `  Resume: ${resumeCommand({ run_id: runId, versions_requested: n.versions, flags: n.flags, target: n.target })}`,
    ...(n.kind === 'failed'
      ? [`  Or: redeploy skip --phase ${n.phase ?? ''} ${runId} · redeploy abort ${runId}`]
      : []),
    `  Pins: ${formatPins(n.versions)}`,
    ...provenanceLines(n.provenance, n.deploy),
  ];
}

/** The message for a run that failed, was aborted, timed out waiting or was rolled back (same channel as NOTIFY). */
export function makeNotifyFailure(deps: ActivityDeps) {
  return async function notifyFailure(runId: string, notice: FailureNotice): Promise<PhaseResult<'NOTIFY'>> {
    return withPhase(
      deps,
      'NOTIFY',
      runId,
      async (ctx) => {
        const tier = await detectTier(ctx);
        // Masked where they leave: ctx.log, deliver() and the returned details.
        const lines = failureLines(runId, notice, workflowUrl(ctx.config, runId));
        for (const line of lines) ctx.log(line);
        const message: SlackMessage = {
          title: `redeploy ${runId} ${headline(notice)}`,
          text: lines.join('\n'),
          fields: Object.fromEntries(
            lines.slice(1).map((l) => {
              const [k, ...v] = l.trim().split(': ');
              return [k ?? '', v.join(': ')];
            }),
          ),
        };
        // Keys become file names: the workflow builds them from fixed words, phases and counters.
        const key = notice.key.replace(/[^A-Za-z0-9_-]/g, '_');
        return { details: {}, output: await deliver(ctx, tier, key, lines, message) };
      },
      { logName: 'ALERTS', ...(notice.ticket ? { ticket: notice.ticket } : {}) },
    );
  };
}
