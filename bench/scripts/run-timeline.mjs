/* global console -- a command-line tool */
// Where a run's orchestration time goes, event by event: N of our runs (the CLI, as orchestration_ratio runs
// it) and N of the floor's, each as {workflow tasks, CLI start, CLI exit} ms, then the last run of each as its
// history: ms since the start, ms since the previous event, event id, kind, activity or child type.
//   node bench/scripts/run-timeline.mjs [N]     (against the current dist/; a snapshot is taken)
import process from 'node:process';
import { URL, fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { connectClient, directPython, loadModules, snapshotDist, startWorkerProcess } from '../lib/setup.mjs';
import { oursOnce, overheadSandbox, profile } from '../measures/overhead.mjs';
import { floorInput } from '../measures/floor.mjs';
import { events } from '../lib/history.mjs';

const N = Number(process.argv[2] ?? 3);
const FLOOR = (f) => fileURLToPath(new URL(`../floor/${f}`, import.meta.url));

function print(evs) {
  const start = evs[0].at;
  let prev = start;
  for (const e of evs) {
    const what = e.attrs?.activityType?.name ?? e.attrs?.workflowType?.name ?? e.attrs?.signalName ?? '';
    console.log(String(e.at - start).padStart(6), String(e.at - prev).padStart(5), e.id, e.kind, what);
    prev = e.at;
  }
}

const brief = (p) =>
  JSON.stringify({
    workflow_tasks_ms: p.workflow_tasks_ms,
    cli_start_ms: p.cli_start_to_workflow_start_ms,
    cli_exit_ms: p.workflow_end_to_cli_exit_ms,
  });

const snap = await snapshotDist();
await directPython(snap.root);
const mods = await loadModules(snap.dist);
const server = await mods.startDevServer({ cli: await mods.findTemporalCli() });
const { sb, vars } = await overheadSandbox(mods, server.address, `timeline-${process.pid}`);
const worker = await startWorkerProcess(mods, vars);
const floorQueue = `timeline-floor-${process.pid}`;
const floorWorker = await startWorkerProcess(mods, vars, {
  argv: [FLOOR('worker.mjs'), server.address, floorQueue],
  ready: 'floor worker ready',
});
const { client, close } = await connectClient(server.address);
try {
  for (let i = 0; i < N; i++) console.log('ours ', brief(await oursOnce(mods, vars, server.address)));
  // The last of ours: the newest redeploy workflow.
  let newest;
  for await (const w of client.workflow.list({ query: `WorkflowType = 'redeploy'` }))
    if (!newest || w.startTime > newest.startTime) newest = w;
  let lastFloor;
  for (let i = 0; i < N; i++) {
    const ticket = `timeline-floor-${process.pid}-${i}`;
    const t0 = Date.now();
    await execa(
      process.execPath,
      [FLOOR('client.mjs'), server.address, floorQueue, ticket, JSON.stringify(floorInput(sb, ticket))],
      { env: vars, extendEnv: false },
    );
    console.log('floor', brief(await profile(server.address, ticket, t0, Date.now())));
    lastFloor = ticket;
  }
  console.log(`\nours (${newest.workflowId}):`);
  print(await events(client.workflow.getHandle(newest.workflowId)));
  console.log(`\nthe floor (${lastFloor}):`);
  print(await events(client.workflow.getHandle(lastFloor)));
} finally {
  await close();
  await floorWorker.stop();
  await worker.stop();
  await sb.close();
  await server.stop();
  await snap.cleanup();
}
