// Where the time of a run went, from its Temporal history (server timestamps, same clock as ours: the dev
// server runs on this machine).

const toMs = (t) => {
  const s = t?.seconds;
  const seconds = typeof s === 'object' && s !== null ? s.toNumber() : Number(s ?? 0);
  return seconds * 1000 + Math.floor((t?.nanos ?? 0) / 1e6);
};

/** `activityTaskScheduledEventAttributes` → `activityTaskScheduled`. */
function kindOf(event) {
  const key = Object.keys(event).find((k) => k.endsWith('EventAttributes') && event[k]);
  return key ? key.slice(0, -'EventAttributes'.length) : 'unknown';
}

export async function events(handle) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((e) => ({
    id: Number(e.eventId),
    at: toMs(e.eventTime),
    kind: kindOf(e),
    attrs: e[`${kindOf(e)}EventAttributes`],
  }));
}

/**
 * Activities of a run in order: name, scheduled, started, closed (ms since epoch). The started event is
 * written when the activity closes, but carries the time it really started.
 */
export function activities(evs) {
  const byScheduled = new Map();
  for (const e of evs) {
    if (e.kind === 'activityTaskScheduled') {
      byScheduled.set(e.id, { name: e.attrs.activityType?.name ?? '?', scheduled: e.at });
    } else if (e.kind === 'activityTaskStarted') {
      const a = byScheduled.get(Number(e.attrs.scheduledEventId));
      if (a) a.started = e.at;
    } else if (/^activityTask(Completed|Failed|TimedOut|Canceled)$/.test(e.kind)) {
      const a = byScheduled.get(Number(e.attrs.scheduledEventId));
      if (a) a.closed = e.at;
    }
  }
  return [...byScheduled.values()];
}

/**
 * A completed run split into: time inside activities, time activity tasks waited for the worker, and the
 * rest between workflow start and end (workflow tasks: the orchestration itself).
 */
export function runBreakdown(evs) {
  const start = evs.find((e) => e.kind === 'workflowExecutionStarted')?.at ?? NaN;
  const end =
    evs.find(
      (e) =>
        e.kind.startsWith('workflowExecution') &&
        e.kind !== 'workflowExecutionStarted' &&
        /Completed|Failed|Canceled|Terminated|TimedOut/.test(e.kind),
    )?.at ?? NaN;
  const acts = activities(evs);
  const inActivities = acts.reduce((s, a) => s + (a.closed - a.started), 0);
  const dispatch = acts.reduce((s, a) => s + (a.started - a.scheduled), 0);
  return {
    workflow_ms: end - start,
    activity_exec_ms: inActivities,
    activity_dispatch_ms: dispatch,
    workflow_tasks_ms: end - start - inActivities - dispatch,
    start,
    end,
    activities: acts,
  };
}

/** Workflow tasks in order: scheduled, started, completed (ms since epoch). */
export function workflowTasks(evs) {
  const tasks = [];
  for (const e of evs) {
    if (e.kind === 'workflowTaskScheduled') tasks.push({ scheduled: e.at });
    else if (e.kind === 'workflowTaskStarted' && tasks.length) tasks.at(-1).started = e.at;
    else if (e.kind === 'workflowTaskCompleted' && tasks.length) tasks.at(-1).completed = e.at;
  }
  return tasks;
}
