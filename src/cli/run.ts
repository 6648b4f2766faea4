import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Client, WorkflowHandle } from '@temporalio/client';
import { PHASES } from '../core/phases.js';
import { formatVersions } from '../core/versions.js';
import type { RedeployInput, RedeployState } from '../core/state.js';
import type { Config } from '../io/config.js';
import { workflowUrl } from '../io/temporal.js';
import type { RunRequest } from './args.js';
import { newRunId } from './run-id.js';

const POLL_MS = 500;

export async function startRun(client: Client, config: Config, req: RunRequest): Promise<WorkflowHandle> {
  const runId = newRunId();
  const input: RedeployInput = {
    runId,
    worktreeTicket: req.worktreeTicket ?? runId,
    versions: req.versions,
    flags: req.flags,
    startedBy: `${os.userInfo().username}@${os.hostname()}`,
    decisionTimeoutMs: config.decisionTimeoutMs,
  };
  return client.workflow.start('redeploy', {
    workflowId: runId,
    taskQueue: config.taskQueue,
    args: [input],
    staticSummary: `redeploy ${formatVersions(req.versions)}`,
  });
}

/** Follows a run by its progress query, one line per phase change, until it ends or waits for a decision. */
export async function follow(handle: WorkflowHandle, out: (line: string) => void): Promise<RedeployState> {
  const seen = new Map<string, string>();
  for (;;) {
    let state: RedeployState | undefined;
    try {
      state = await handle.query<RedeployState>('progress');
    } catch {
      // The first workflow task has not run yet (or no worker is polling): keep waiting.
    }
    if (state) {
      for (const phase of PHASES) {
        const status = state.phases[phase].status;
        if (seen.get(phase) !== status) {
          seen.set(phase, status);
          if (status !== 'pending') out(`${phase}: ${status}`);
        }
      }
      if (state.status !== 'running') return state;
    }
    await sleep(POLL_MS);
  }
}

export function resumeHint(state: RedeployState): string {
  const f = state.flags;
  const flags = [
    f.skipSync ? ' --skip-sync' : '',
    f.skipDockerfileUpdate ? ' --skip-dockerfile-update' : '',
    f.skipInfisical ? ' --skip-infisical' : '',
    f.verifyOnly ? ' --verify-only' : '',
  ].join('');
  return `Resume with: redeploy --resume ${state.run_id} --versions "${formatVersions(state.versions_requested)}"${flags}`;
}

export async function runCommand(
  client: Client,
  config: Config,
  req: RunRequest,
  out: (line: string) => void,
): Promise<number> {
  const handle = await startRun(client, config, req);
  out(`[redeploy] ${handle.workflowId} started — ${workflowUrl(config, handle.workflowId)}`);
  const { pollers } = await client.workflowService
    .describeTaskQueue({
      namespace: config.temporal.namespace,
      taskQueue: { name: config.taskQueue },
      taskQueueType: 1,
    })
    .catch(() => ({ pollers: [{}] }));
  if (!pollers?.length)
    out(`[redeploy] no worker is polling task queue ${config.taskQueue}: start one with \`redeploy worker\``);
  const state = await follow(handle, out);
  if (state.status === 'completed') {
    const notify = state.phases.NOTIFY;
    if (notify['channel'] === 'stdout' && typeof notify['message'] === 'string') out(notify['message']);
    out(`[redeploy] ${state.run_id} complete`);
    return 0;
  }
  const phase = state.pending_decision?.phase ?? state.current_phase ?? 'UNKNOWN';
  out(`ERROR in ${phase}: ${state.pending_decision?.error ?? state.error ?? state.status}`);
  if (state.status === 'waiting_for_decision') out(resumeHint(state));
  return 1;
}
