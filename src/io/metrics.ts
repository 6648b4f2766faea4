import type { Client } from '@temporalio/client';
import type { MetricMeter } from '@temporalio/common';
import type { ActivityInterceptorsFactory } from '@temporalio/worker';
import { PHASE, PHASES, type Phase } from '../core/phases.js';
import { CliError, EXIT_FAILED } from '../core/errors.js';
import { progressQuery } from '../core/messages.js';
import type { RedeployState } from '../core/state.js';

export { METRICS_ENV, metricsAddress } from '../cli/args.js';

/**
 * Installs the process's Temporal runtime with a Prometheus exporter: the SDK's worker and connection
 * metrics (prefix `temporal_`) and redeploy's own, on http://<address>/metrics. Must run before any
 * connection is made: the runtime is installed once per process.
 */
export async function installMetrics(address: string): Promise<void> {
  const { Runtime } = await import('@temporalio/worker');
  try {
    Runtime.install({
      telemetryOptions: {
        metrics: {
          prometheus: {
            bindAddress: address,
            useSecondsForDurations: true,
            // A phase takes from a second (SYNC) to most of an hour (DEPLOY's build).
            histogramBucketOverrides: {
              [PHASE_DURATION]: [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1200, 3600],
            },
          },
        },
      },
    });
  } catch (err) {
    const why = (err as Error).message;
    const hint = /in use/i.test(why)
      ? 'Another process listens there: pick another port, or stop it.'
      : 'The Temporal runtime is installed once per process: start the worker with --metrics as its own process.';
    throw new CliError(`Cannot serve metrics on ${address}: ${why}. ${hint}`, EXIT_FAILED, {
      prefixed: true,
    });
  }
}

const PHASE_DURATION = 'redeploy_phase_attempt_duration_seconds';
const PHASE_OF = new Map<string, Phase>(PHASES.map((p) => [PHASE[p].activity, p]));

/**
 * `redeploy_phase_attempt_duration_seconds{phase, outcome}`: each phase activity attempt on this worker,
 * timed where it runs (an operator's retry and the automatic retries are attempts of their own).
 */
export function phaseMetrics(meter: MetricMeter): ActivityInterceptorsFactory {
  const duration = meter.createHistogram(
    PHASE_DURATION,
    'float',
    's',
    'one attempt of a redeploy phase, by phase and outcome',
  );
  return (ctx) => ({
    inbound: {
      async execute(input, next) {
        const phase = PHASE_OF.get(ctx.info.activityType);
        if (!phase) return next(input);
        const started = performance.now();
        let outcome = 'failed';
        try {
          const result = await next(input);
          outcome = 'completed';
          return result;
        } catch (err) {
          if ((err as Error)?.name === 'CancelledFailure') outcome = 'cancelled';
          throw err;
        } finally {
          duration.record((performance.now() - started) / 1000, { phase, outcome });
        }
      },
    },
  });
}

/**
 * `redeploy_runs_waiting_for_decision{phase}` and `redeploy_decision_wait_seconds{phase}` (the longest
 * wait): every `intervalMs`, the open runs on this task queue and their progress query. Every phase is set
 * each time (0 when none waits), so a decided run leaves no stale value.
 */
export function watchDecisions(
  client: Client,
  taskQueue: string,
  meter: MetricMeter,
  intervalMs = 10_000,
): () => Promise<void> {
  const waiting = meter.createGauge('redeploy_runs_waiting_for_decision', 'int', 'runs', 'runs waiting');
  const longest = meter.createGauge(
    'redeploy_decision_wait_seconds',
    'float',
    's',
    'the longest wait, by phase',
  );
  let stopped = false;
  const once = async () => {
    const count = new Map<Phase, number>();
    const oldest = new Map<Phase, number>();
    const query = `WorkflowType = "redeploy" AND ExecutionStatus = "Running" AND TaskQueue = "${taskQueue}"`;
    for await (const wf of client.workflow.list({ query })) {
      const state = await client.workflow
        .getHandle(wf.workflowId, wf.runId)
        .query<RedeployState>(progressQuery)
        .catch(() => undefined);
      const pending = state?.status === 'waiting_for_decision' ? state.pending_decision : undefined;
      if (!pending) continue;
      const phase = pending.phase;
      const since = Date.parse(pending.since);
      count.set(phase, (count.get(phase) ?? 0) + 1);
      if (Number.isFinite(since))
        oldest.set(phase, Math.max(oldest.get(phase) ?? 0, (Date.now() - since) / 1000));
    }
    for (const phase of PHASES) {
      waiting.set(count.get(phase) ?? 0, { phase });
      longest.set(oldest.get(phase) ?? 0, { phase });
    }
  };
  const loop = (async () => {
    while (!stopped) {
      // A server hiccup only delays the next reading; the worker carries on.
      await once().catch(() => undefined);
      for (let t = 0; t < intervalMs && !stopped; t += 250) await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return async () => {
    stopped = true;
    await loop;
  };
}
