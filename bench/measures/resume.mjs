// resume_latency_ms_median: from invoking `redeploy --resume <run_id>` on a run waiting for a decision after a
// failed DEPLOY, to DEPLOY's activity starting again — read from the line the activity writes first,
// `[redeploy] DEPLOY attempt N started <iso>` in <log dir>/<run_id>/DEPLOY.log (same machine, same clock).
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { events } from '../lib/history.mjs';
import {
  benchRunId,
  connectClient,
  runCli,
  runInput,
  startWorkerProcess,
  waitForProgress,
} from '../lib/setup.mjs';
import { median, medianFields, omit, round } from '../lib/stats.mjs';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const ATTEMPT_LINE = /^\[redeploy\] DEPLOY attempt \d+ started (\S+)/gm; // an operator retry adds " (scheduled again: …)"

export const resume = {
  key: 'resume_latency_ms_median',
  target: { op: '<=', value: 400 },
  async run({ mods, address, runs, warmup, log }) {
    const sb = await mods.createSandbox();
    const vars = mods.sandboxVars(sb, address, `bench-resume-${process.pid}`);
    const logDir = mods.loadConfig(vars).logDir;
    const worker = await startWorkerProcess(mods, vars);
    const { client, close } = await connectClient(address);
    try {
      const once = () => resumeOnce({ sb, vars, mods, client, logDir, taskQueue: vars.REDEPLOY_TASK_QUEUE });
      // Warm-up: the first CLI start, worktree and --force decision of the sandbox.
      for (let i = 0; i < warmup; i++) await once();
      const samples = [];
      for (let i = 0; i < runs; i++) {
        const s = await once();
        samples.push(s);
        log(`  run ${i + 1}/${runs}: ${round(s.latency_ms, 1)} ms`);
      }
      return {
        value: median(samples.map((s) => s.latency_ms)),
        details: {
          latencies_ms: samples.map((s) => round(s.latency_ms, 1)),
          breakdown_ms_median: medianFields(samples.map((s) => omit(s, 'latency_ms'))),
        },
      };
    } finally {
      await close();
      await worker.stop();
      await sb.close();
    }
  },
};

async function resumeOnce({ sb, vars, mods, client, logDir, taskQueue }) {
  const runId = benchRunId();
  await sb.setFault('deploy', { exitCode: 1, message: 'bench: docker compose build failed' });
  const handle = await client.workflow.start(mods.redeploy, {
    taskQueue,
    workflowId: runId,
    args: [runInput(runId, VERSIONS, { skipSync: true })],
  });
  await waitForProgress(
    mods,
    handle,
    (s) => s.status === 'waiting_for_decision' && s.pending_decision?.phase === 'DEPLOY',
  );
  await sb.clearFault('deploy');

  const t0 = Date.now();
  const { r } = await runCli(mods, ['--resume', runId], vars);
  if (r.exitCode !== 0) throw new Error(`redeploy --resume exited ${r.exitCode}:\n${r.stdout}\n${r.stderr}`);
  const text = await fs.readFile(path.join(logDir, runId, 'DEPLOY.log'), 'utf8');
  const starts = [...text.matchAll(ATTEMPT_LINE)].map((m) => Date.parse(m[1]));
  if (starts.length !== 2)
    throw new Error(`expected 2 DEPLOY attempts in ${runId}'s log, found ${starts.length}`);
  // The floor of any CLI command that talks to Temporal: start Node, load the client, connect, two RPCs.
  const status = await runCli(mods, ['status', runId], vars);
  return {
    latency_ms: starts[1] - t0,
    ...(await stages(handle, t0, starts[1])),
    redeploy_status_command: status.ms,
  };
}

/** The path of the retry through Temporal: CLI → update accepted → DEPLOY scheduled → picked up → log line. */
async function stages(handle, t0, logged) {
  const evs = await events(handle);
  const accepted = evs.find((e) => e.kind === 'workflowExecutionUpdateAccepted')?.at;
  const deploys = evs.filter(
    (e) => e.kind === 'activityTaskScheduled' && e.attrs.activityType?.name === 'deploy',
  );
  const scheduled = deploys[1]?.at;
  const started = evs.find(
    (e) => e.kind === 'activityTaskStarted' && Number(e.attrs.scheduledEventId) === deploys[1]?.id,
  )?.at;
  return {
    cli_to_update_accepted: accepted - t0,
    update_accepted_to_deploy_scheduled: scheduled - accepted,
    deploy_scheduled_to_started: started - scheduled,
    activity_started_to_log_line: logged - started,
  };
}
