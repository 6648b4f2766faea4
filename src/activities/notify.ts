import fs from 'node:fs/promises';
import path from 'node:path';
import type { Phase, PhaseStatus } from '../core/phases.js';
import type { Versions } from '../core/versions.js';
import { writeFileAtomic } from '../io/atomic.js';
import { sendSlack, slackTarget, type SlackMessage } from '../io/slack.js';
import { PhaseError, withPhase, type ActivityDeps, type PhaseContext, type PhaseOutcome } from './context.js';

export type Tier = 'FULL_ONEX' | 'EVENT_BUS' | 'STANDALONE';

export interface NotifyInput {
  versions: Versions;
  phases: Record<Phase, PhaseStatus>;
  /** What the message reports; one message per run outcome. */
  outcome: 'complete';
}

/** Tier detection per contract: ONEX_TIER, else the omniclaude import probe, else Kafka, else standalone. */
async function detectTier(ctx: PhaseContext): Promise<Tier> {
  const declared = ctx.env['ONEX_TIER'];
  if (declared === 'FULL_ONEX' || declared === 'EVENT_BUS' || declared === 'STANDALONE') return declared;
  const probe = await ctx.run(
    {
      file: 'python3',
      args: ['-c', 'import omniclaude.nodes.node_git_effect.models'],
      cwd: ctx.config.omniHome,
    },
    { timeoutMs: 30_000 },
  );
  if (probe.exitCode === 0) return 'FULL_ONEX';
  return ctx.env['KAFKA_BOOTSTRAP_SERVERS'] ? 'EVENT_BUS' : 'STANDALONE';
}

/** The seed's summary lines. */
export function summaryLines(runId: string, input: NotifyInput): string[] {
  const pins = Object.entries(input.versions)
    .map(([k, v]) => `${k}==${v}`)
    .join(', ');
  // "all completed" only when it is true: an operator's skip or a failure is named.
  const notable = Object.entries(input.phases).filter(
    ([p, s]) =>
      p !== 'NOTIFY' && s !== 'completed' && s !== 'skipped_by_flag' && s !== 'skipped_no_infisical',
  );
  return [
    `[redeploy] ${runId} ${input.outcome}`,
    `  Pins: ${pins}`,
    `  Phases: all completed${notable.length ? ` except ${notable.map(([p, s]) => `${p} (${s})`).join(', ')}` : ''}`,
  ];
}

/**
 * NOTIFY: Slack when the tier is FULL_ONEX, else the summary for stdout (returned in the phase details;
 * the CLI prints it). A marker file makes a retried activity not post the same outcome twice.
 */
export function makeNotify(deps: ActivityDeps) {
  return async function notify(runId: string, input: NotifyInput): Promise<PhaseOutcome> {
    return withPhase(deps, 'NOTIFY', runId, async (ctx) => {
      const tier = await detectTier(ctx);
      const lines = summaryLines(runId, input);
      for (const line of lines) ctx.log(line);
      const target =
        tier === 'FULL_ONEX' ? slackTarget(ctx.env, ctx.config.slackApiUrl) : ({ kind: 'none' } as const);
      if (target.kind === 'none') {
        const note =
          tier === 'FULL_ONEX'
            ? 'Slack not configured (SLACK_BOT_TOKEN + SLACK_CHANNEL_ID, or SLACK_WEBHOOK_URL)'
            : undefined;
        if (note) ctx.log(`NOTIFY: ${note}; printing the summary instead`);
        return { details: { tier, channel: 'stdout', message: lines.join('\n'), ...(note ? { note } : {}) } };
      }
      const channel = target.kind === 'bot' ? 'slack-bot' : 'slack-webhook';
      const marker = path.join(path.dirname(ctx.logFile), `NOTIFY.${input.outcome}.sent`);
      const sent = await fs.readFile(marker, 'utf8').catch(() => undefined);
      if (sent !== undefined) {
        ctx.log(`NOTIFY: already sent for this outcome (${marker}); not posting again`);
        return {
          details: {
            tier,
            channel,
            message: lines.join('\n'),
            ...JSON.parse(sent),
            duplicate_suppressed: true,
          },
        };
      }
      const message: SlackMessage = {
        title: `redeploy ${runId} ${input.outcome}`,
        text: ctx.mask(lines.join('\n')),
        fields: {
          Pins: lines[1]?.replace('  Pins: ', '') ?? '',
          Phases: lines[2]?.replace('  Phases: ', '') ?? '',
        },
      };
      const result = await sendSlack(target, message);
      if (!result.ok) {
        throw new PhaseError(
          'SlackFailed',
          `Slack ${channel} post failed: ${result.error}`,
          result.retryable,
          { tier, channel },
          result.retryAfterMs,
        );
      }
      const record = { slack_ts: result.ts ?? null };
      await writeFileAtomic(marker, JSON.stringify(record), 0o600);
      ctx.log(`NOTIFY: posted to Slack (${channel})`);
      return { details: { tier, channel, message: lines.join('\n'), ...record } };
    });
  };
}
