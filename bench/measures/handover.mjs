// handover_ms_median: the holder of a target closes → the run queued behind it starts its first phase. Each
// repetition queues two runs (B, then C) behind a holder A that waits for a decision after a failed DEPLOY,
// leaves them queued for a while (a real holder deploys for minutes), aborts A, and lets B and C run: two
// handovers (A → B, B → C), read from the server's history. Also checks that B went before C (arrival order).
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import { activities, events } from '../lib/history.mjs';
import { benchRunId, connectClient, runInput, startWorkerProcess, waitForProgress } from '../lib/setup.mjs';
import { median, round } from '../lib/stats.mjs';

const VERSIONS = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };
const LOCK_ACTIVITIES = new Set(['targetLockHolder', 'awaitTargetTurn']);
const CLOSED = /^workflowExecution(Completed|Failed|Canceled|Terminated|TimedOut)$/;

export const handover = {
  key: 'handover_ms_median',
  target: { op: '<=', value: 1000 },
  runs: (quick) => (quick ? 1 : 3),
  async run({ mods, address, runs, log, quick }) {
    const sb = await mods.createSandbox();
    const taskQueue = `bench-handover-${process.pid}`;
    const vars = mods.sandboxVars(sb, address, taskQueue);
    const worker = await startWorkerProcess(mods, vars);
    const { client, close } = await connectClient(address);
    // How long B and C stay queued before A closes: long enough for a waiting design to settle in.
    const queuedMs = quick ? 3_000 : 30_000;
    try {
      const start = (flags = {}) => {
        const runId = benchRunId();
        return client.workflow.start(mods.redeploy, {
          taskQueue,
          workflowId: runId,
          args: [
            {
              ...runInput(runId, VERSIONS, { skipSync: true, ...flags }),
              lockId: `redeploy-target-lock:${taskQueue}`,
            },
          ],
        });
      };
      const once = async () => {
        await sb.setFault('deploy', { exitCode: 1, message: 'bench: holder fails DEPLOY and waits' });
        const a = await start();
        await waitForProgress(mods, a, (s) => s.status === 'waiting_for_decision');
        await sb.clearFault('deploy');
        const b = await start();
        await waitForProgress(mods, b, (s) => s.status === 'waiting_for_target');
        const c = await start();
        await waitForProgress(mods, c, (s) => s.status === 'waiting_for_target');
        await sleep(queuedMs);
        await a.executeUpdate(mods.decideUpdate, {
          args: [{ action: 'abort', phase: 'DEPLOY', by: 'bench' }],
        });
        const [sa, sbState, sc] = await Promise.all([a.result().catch((e) => e), b.result(), c.result()]);
        if (sbState.status !== 'completed' || sc.status !== 'completed')
          throw new Error(`queued runs ended ${sbState.status} / ${sc.status}`);
        void sa;
        const [ea, eb, ec] = await Promise.all([events(a), events(b), events(c)]);
        const closedAt = (evs) => evs.find((e) => CLOSED.test(e.kind)).at;
        const firstPhase = (evs) => activities(evs).find((x) => !LOCK_ACTIVITIES.has(x.name)).started;
        return {
          a_to_b: firstPhase(eb) - closedAt(ea),
          b_to_c: firstPhase(ec) - closedAt(eb),
          in_order: firstPhase(eb) < firstPhase(ec),
          lock_activities: [eb, ec].map(
            (evs) => activities(evs).filter((x) => LOCK_ACTIVITIES.has(x.name)).length,
          ),
        };
      };
      const samples = [];
      for (let i = 0; i < runs; i++) {
        const s = await once();
        samples.push(s);
        log(
          `  run ${i + 1}/${runs}: A→B ${s.a_to_b} ms, B→C ${s.b_to_c} ms, arrival order ${s.in_order ? 'kept' : 'NOT kept'}`,
        );
      }
      const all = samples.flatMap((s) => [s.a_to_b, s.b_to_c]);
      return {
        value: median(all),
        details: {
          handovers_ms: all,
          arrival_order_kept: samples.filter((s) => s.in_order).length,
          arrival_order_of: samples.length,
          queued_ms_before_release: queuedMs,
          lock_activities_per_queued_run: samples.map((s) => s.lock_activities),
          design:
            'holder A waits for a decision after a failed DEPLOY; B then C queue; A is aborted; B and C run to completion',
          max_ms: round(Math.max(...all), 1),
        },
      };
    } finally {
      await close();
      await worker.stop();
      await sb.close();
    }
  },
};
