import type { Provenance } from '../core/provenance.js';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import type { VerifyDetails } from '../core/details.js';
import { PHASES, phaseOfActivity, type Phase, type PhaseStatus } from '../core/phases.js';
import { previousPin } from '../core/pins.js';
import { formatPins, type RedeployState, type RollbackRecord } from '../core/state.js';
import { writeOwnedFile } from '../io/safe-fs.js';

export interface PhaseTiming {
  status: string;
  /** Activity executions: 1, plus one per operator retry. */
  executions: number;
  /** Attempts across executions, automatic retries included. */
  attempts: number;
  started_at: string | null;
  ended_at: string | null;
  /** Wall time from the first execution's start to the last one's end: waits for a decision included. */
  duration_ms: number | null;
  /** Time its executions ran (automatic retries and their backoff included), without the waits between. */
  running_ms: number | null;
  /** The rest of duration_ms: the phase had failed and waited for an operator's decision. */
  decision_wait_ms: number | null;
}

export interface RunReport {
  run_id: string;
  status: string;
  started_by: string;
  started_at: string;
  finished_at: string | null;
  target: string | null;
  /** The lane deployed (`--lane`; null: ONEX_DEPLOY_LANE or dev, as the worker chose) and the pin policy. */
  lane: string | null;
  pin_policy: 'edit' | 'admit' | null;
  phases: Record<Phase, PhaseTiming>;
  versions: Record<string, { before: string | null; after: string }>;
  verification: {
    status: PhaseStatus;
    health: VerifyDetails['health'] | null;
    versions: VerifyDetails['versions'] | null;
  };
  decisions: RedeployState['decisions'];
  provenance: Provenance | null;
  /** Time spent queued behind another run on the target (null: it took the target at once or took none). */
  target_wait_ms: number | null;
  /** --rollback-on-failure: the state's record, plus each compensation step's attempts and duration. */
  rollback: (RollbackRecord & { steps: Partial<Record<Phase, StepTiming>> }) | null;
  error: string | null;
}

export interface StepTiming {
  attempts: number;
  duration_ms: number | null;
}

/** The activity's Web UI summary (a JSON string payload); rollback steps start with `ROLLBACK`. */
function summaryOf(e: HistoryEvent): string {
  const data = e.userMetadata?.summary?.data;
  if (!data) return '';
  try {
    const value: unknown = JSON.parse(new TextDecoder().decode(data));
    return typeof value === 'string' ? value : '';
  } catch {
    return '';
  }
}

type HistoryEvent = NonNullable<Awaited<ReturnType<WorkflowHandle['fetchHistory']>>['events']>[number];

function time(e: HistoryEvent): number | null {
  const t = e.eventTime;
  if (!t?.seconds) return null;
  return Number(t.seconds) * 1000 + Math.floor((t.nanos ?? 0) / 1e6);
}

/** Phase timings and attempts from the run's history; everything else from its progress state. */
/** What the history says, phase by phase: executions, attempts, times; the rollback's steps; the target wait. */
interface HistoryScan {
  timing: Record<Phase, PhaseTiming>;
  steps: Partial<Record<Phase, StepTiming & { first?: number; last?: number }>>;
  lockAsked: number | null;
  lockTaken: number | null;
  first: Map<Phase, number>;
  last: Map<Phase, number>;
  /** The phases' summed running time (each execution from its scheduling to its close). */
  running: Map<Phase, number>;
  byScheduled: Map<string, Phase>;
  rollbackOf: Map<string, Phase>;
  /** Each execution's scheduled time (its first attempt starts then). */
  scheduledAt: Map<string, number>;
}

function emptyScan(state: RedeployState): HistoryScan {
  const timing = Object.fromEntries(
    PHASES.map((p) => [
      p,
      {
        status: state.phases[p].status,
        executions: 0,
        attempts: 0,
        started_at: null,
        ended_at: null,
        duration_ms: null,
        running_ms: null,
        decision_wait_ms: null,
      },
    ]),
  ) as Record<Phase, PhaseTiming>;
  return {
    timing,
    steps: {},
    lockAsked: null,
    lockTaken: null,
    first: new Map(),
    last: new Map(),
    running: new Map(),
    byScheduled: new Map(),
    rollbackOf: new Map(),
    scheduledAt: new Map(),
  };
}

/** An activity scheduled: a phase's execution, or a rollback step (reported under rollback). */
function onScheduled(scan: HistoryScan, e: HistoryEvent, id: string, phase: Phase): void {
  if (summaryOf(e).startsWith('ROLLBACK')) {
    scan.rollbackOf.set(id, phase);
    scan.steps[phase] = { attempts: 0, duration_ms: null };
    return;
  }
  scan.byScheduled.set(id, phase);
  scan.timing[phase].executions++;
  const at = time(e);
  if (at !== null) {
    scan.scheduledAt.set(id, at);
    if (!scan.first.has(phase)) scan.first.set(phase, at);
  }
}

/** An activity started (written when it ends, with the attempt it ended on) or closed. */
function onStartedOrClosed(scan: HistoryScan, e: HistoryEvent): void {
  const started = e.activityTaskStartedEventAttributes;
  const closed =
    e.activityTaskCompletedEventAttributes ??
    e.activityTaskFailedEventAttributes ??
    e.activityTaskTimedOutEventAttributes ??
    e.activityTaskCanceledEventAttributes;
  const ref = started?.scheduledEventId ?? closed?.scheduledEventId;
  const t = time(e);
  if (ref === undefined || ref === null || t === null) return;
  const step = scan.rollbackOf.get(String(ref));
  const s = step ? scan.steps[step] : undefined;
  if (s) {
    if (started) {
      s.attempts += started.attempt ?? 1;
      s.first ??= t;
    } else s.last = t;
    return;
  }
  const phase = scan.byScheduled.get(String(ref));
  if (!phase) return;
  if (started) {
    // One started event per execution, written when it ends, carrying the attempt it ended on (and
    // that attempt's start time: the execution began at its scheduling).
    scan.timing[phase].attempts += started.attempt ?? 1;
    if (!scan.first.has(phase)) scan.first.set(phase, t);
  } else {
    scan.last.set(phase, t);
    const from = scan.scheduledAt.get(String(ref));
    if (from !== undefined) scan.running.set(phase, (scan.running.get(phase) ?? 0) + (t - from));
  }
}

function scanHistory(state: RedeployState, events: HistoryEvent[]): HistoryScan {
  const scan = emptyScan(state);
  for (const e of events) {
    if (e.startChildWorkflowExecutionInitiatedEventAttributes && scan.lockAsked === null)
      scan.lockAsked = time(e);
    if (e.childWorkflowExecutionStartedEventAttributes && scan.lockTaken === null) scan.lockTaken = time(e);
    const scheduled = e.activityTaskScheduledEventAttributes;
    if (scheduled) {
      const phase = phaseOfActivity(scheduled.activityType?.name ?? '');
      if (phase) onScheduled(scan, e, String(e.eventId ?? ''), phase);
      continue;
    }
    onStartedOrClosed(scan, e);
  }
  for (const p of PHASES) {
    const [a, b, t] = [scan.first.get(p), scan.last.get(p), scan.timing[p]];
    t.started_at = a ? new Date(a).toISOString() : null;
    t.ended_at = b ? new Date(b).toISOString() : null;
    t.duration_ms = a && b ? b - a : null;
    const ran = scan.running.get(p);
    t.running_ms = ran ?? null;
    t.decision_wait_ms =
      ran !== undefined && t.duration_ms !== null ? Math.max(0, t.duration_ms - ran) : null;
  }
  return scan;
}

/** Each requested package's pin before the run and the version after. */
function versionsBeforeAfter(state: RedeployState): RunReport['versions'] {
  const applied = state.phases.PIN_UPDATE.pins_applied ?? {};
  const found = state.phases.WORKTREE.pins_found ?? {};
  return Object.fromEntries(
    Object.entries(state.versions_requested).map(([pkg, to]) => [
      pkg,
      {
        before: previousPin(found[pkg], applied[pkg]?.from, to) ?? found[pkg] ?? applied[pkg]?.from ?? null,
        after: to,
      },
    ]),
  );
}

function rollbackReport(state: RedeployState, steps: HistoryScan['steps']): RunReport['rollback'] {
  if (!state.rollback) return null;
  return {
    ...state.rollback,
    steps: Object.fromEntries(
      Object.entries(steps).map(([p, x]) => [
        p,
        {
          attempts: x.attempts,
          duration_ms: x.first !== undefined && x.last !== undefined ? x.last - x.first : null,
        },
      ]),
    ),
  };
}

export function buildReport(state: RedeployState, events: HistoryEvent[]): RunReport {
  const scan = scanHistory(state, events);
  const verify = state.phases.VERIFY;
  return {
    run_id: state.run_id,
    status: state.status,
    started_by: state.started_by,
    started_at: state.started_at,
    finished_at: state.finished_at,
    target: state.target ?? null,
    lane: state.flags.lane ?? null,
    // Runs of earlier versions had no policy: they edited.
    pin_policy: state.flags.pinPolicy ?? null,
    phases: scan.timing,
    versions: versionsBeforeAfter(state),
    verification: {
      status: verify.status,
      health: verify.health ?? null,
      versions: verify.versions ?? null,
    },
    decisions: state.decisions,
    // Older states (before provenance was recorded) have none.
    provenance: state.provenance ?? null,
    // A run that took the target at once shows a few ms; only a real wait is worth a line.
    target_wait_ms:
      scan.lockAsked !== null && scan.lockTaken !== null ? scan.lockTaken - scan.lockAsked : null,
    rollback: rollbackReport(state, scan.steps),
    error: state.error ?? state.pending_decision?.error ?? null,
  };
}

export function reportMarkdown(r: RunReport): string {
  const seconds = (ms: number | null) => (ms === null ? '—' : `${(ms / 1000).toFixed(1)} s`);
  const lines = [
    `# redeploy ${r.run_id}: ${r.status}`,
    '',
    `Started by ${r.started_by} at ${r.started_at}${r.finished_at ? `, finished ${r.finished_at}` : ''}${r.target ? `, target ${r.target}` : ''}.`,
    '',
    `Lane ${r.lane ?? 'default (ONEX_DEPLOY_LANE, else dev)'}, pin policy ${r.pin_policy ?? 'edit (recorded before policies)'}.`,
    ...(r.error ? ['', `**Error:** ${r.error}`] : []),
    ...(r.target_wait_ms !== null && r.target_wait_ms >= 1000
      ? ['', `Waited ${seconds(r.target_wait_ms)} for the target (another run held it).`]
      : []),
    '',
    '## Phases',
    '',
    // Running and wall time apart: a phase that waited hours for a decision did not take hours to run.
    '| Phase | Status | Executions | Attempts | Running | Waited for a decision | Duration (wall) |',
    '|---|---|---|---|---|---|---|',
    ...PHASES.map((p) => {
      const t = r.phases[p];
      const waited = t.running_ms === null ? '—' : seconds(t.decision_wait_ms);
      return `| ${p} | ${t.status} | ${t.executions} | ${t.attempts} | ${seconds(t.running_ms)} | ${waited} | ${seconds(t.duration_ms)} |`;
    }),
    '',
    '## Provenance',
    '',
    ...(r.provenance
      ? [
          `- Ref: origin/${r.provenance.ref} @ ${r.provenance.base_commit ?? '— (not fetched)'}`,
          `- Origin: ${r.provenance.origin_url ?? '—'}`,
          `- Deployed commit: ${r.provenance.deployed_commit ?? '— (DEPLOY did not run)'}`,
          `- Dockerfile SHA-256: ${r.provenance.dockerfile_sha256 ?? '—'}`,
          `- Deploy script: ${r.provenance.deploy_script ?? '—'}`,
          ...(r.provenance.image_revision
            ? [`- Image revision (org.opencontainers.image.revision): ${r.provenance.image_revision}`]
            : []),
          ...(r.provenance.proven_by ? [`- Proven by: ${r.provenance.proven_by}`] : []),
        ]
      : ['Not recorded (a run of an earlier version).']),
    '',
    '## Versions',
    '',
    '| Package | Before | After |',
    '|---|---|---|',
    ...Object.entries(r.versions).map(([pkg, v]) => `| ${pkg} | ${v.before ?? '—'} | ${v.after} |`),
    '',
    '## Verification',
    '',
  ];
  const v = r.verification;
  lines.push(`VERIFY: ${v.status}`);
  for (const [name, h] of Object.entries(v.health ?? {})) lines.push(`- ${name} ${h.url}: ${h.status}`);
  for (const [pkg, x] of Object.entries(v.versions ?? {}))
    lines.push(
      `- ${pkg}: ${x.actual ?? 'not installed'} (expected ${x.expected}) ${x.ok ? 'OK' : 'MISMATCH'}`,
    );
  lines.push('', '## Operator decisions', '');
  if (r.decisions.length === 0) lines.push('None.');
  for (const d of r.decisions)
    lines.push(`- ${d.at}: ${d.action} ${d.phase} by ${d.by}${d.reason ? ` (${d.reason})` : ''}`);
  lines.push('', '## Rollback', '');
  const rb = r.rollback;
  if (!rb) lines.push('None.');
  else {
    lines.push(
      `${rb.status === 'completed' ? 'Rolled back' : `Rollback ${rb.status}`} to ${formatPins(rb.to) || '—'} (${rb.started_at} → ${rb.finished_at ?? '…'}), because: ${rb.reason.split('\n')[0] ?? ''}`,
    );
    if (rb.error) lines.push(`- failed: ${rb.error}`);
    for (const [p, x] of Object.entries(rb.steps))
      lines.push(`- ${p}: ${x.attempts} attempt${x.attempts === 1 ? '' : 's'}, ${seconds(x.duration_ms)}`);
  }
  lines.push('');
  return lines.join('\n');
}

/** Writes `<state dir>/reports/<run_id>.md` and `.json`; returns their paths. */
export async function writeReport(stateDir: string, r: RunReport): Promise<{ md: string; json: string }> {
  const dir = path.join(stateDir, 'reports');
  const md = path.join(dir, `${r.run_id}.md`);
  const json = path.join(dir, `${r.run_id}.json`);
  await writeOwnedFile(stateDir, md, reportMarkdown(r), 'REDEPLOY_STATE_DIR');
  await writeOwnedFile(stateDir, json, `${JSON.stringify(r, null, 2)}\n`, 'REDEPLOY_STATE_DIR');
  return { md, json };
}
