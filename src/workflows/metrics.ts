import {
  ApplicationFailure,
  isCancellation,
  metricMeter,
  workflowInfo,
  type WorkflowExecuteInput,
  type WorkflowInboundCallsInterceptor,
  type WorkflowInterceptorsFactory,
  type Next,
} from '@temporalio/workflow';

/**
 * `redeploy_runs_total{outcome}`: how each redeploy run ended, counted by the worker that ran its end.
 * A workflow interceptor (bundled with the workflows): it only emits a metric, which adds no command to
 * the history and is not emitted on replay, so recorded histories replay unchanged. Without
 * `redeploy worker --metrics` the meter is a no-op.
 */
class RunOutcome implements WorkflowInboundCallsInterceptor {
  async execute(input: WorkflowExecuteInput, next: Next<WorkflowInboundCallsInterceptor, 'execute'>) {
    if (workflowInfo().workflowType !== 'redeploy') return next(input);
    const runs = metricMeter.createCounter('redeploy_runs_total', 'runs', 'redeploy runs by how they ended');
    try {
      const result = await next(input);
      runs.add(1, { outcome: 'completed' });
      return result;
    } catch (err) {
      runs.add(1, { outcome: outcomeOf(err) });
      throw err;
    }
  }
}

/** The state's final status travels as the failure's first detail (workflows/redeploy.ts `fail`). */
function outcomeOf(err: unknown): string {
  if (isCancellation(err)) return 'cancelled';
  if (err instanceof ApplicationFailure) {
    const status = (err.details?.[0] as { status?: unknown } | undefined)?.status;
    if (typeof status === 'string' && /^[a-z_]+$/.test(status)) return status;
  }
  return 'failed';
}

export const interceptors: WorkflowInterceptorsFactory = () => ({ inbound: [new RunOutcome()] });
