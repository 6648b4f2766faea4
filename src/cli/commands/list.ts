import { REDEPLOY_PHASE } from '../../core/messages.js';
import type { Context } from './shared.js';
import { WORKFLOW_TYPE } from '../../core/messages.js';

/** `redeploy list`: the 20 most recent runs with their status and RedeployPhase. */
export async function list(ctx: Context, json: boolean): Promise<number> {
  const rows: { run_id: string; status: string; phase: string; started: string }[] = [];
  const query = `WorkflowType = '${WORKFLOW_TYPE}'`;
  for await (const wf of ctx.client.workflow.list({ query, pageSize: 20 })) {
    const phase = wf.typedSearchAttributes.get(REDEPLOY_PHASE) ?? '';
    rows.push({
      run_id: wf.workflowId,
      status: wf.status.name.toLowerCase(),
      phase,
      started: wf.startTime.toISOString(),
    });
    if (rows.length >= 20) break;
  }
  if (json) ctx.out(JSON.stringify(rows, null, 2));
  else {
    // PHASE is RedeployPhase: `DEPLOY waiting` while a failed phase waits for a decision.
    ctx.out(`${'RUN ID'.padEnd(26)}${'STATUS'.padEnd(12)}${'PHASE'.padEnd(20)}STARTED`);
    for (const r of rows)
      ctx.out(`${r.run_id.padEnd(26)}${r.status.padEnd(12)}${r.phase.padEnd(20)}${r.started}`);
    if (rows.length === 0) ctx.out('(no redeploy runs)');
  }
  return 0;
}
