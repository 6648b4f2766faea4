import type { FailureDetails, PhaseDetails, PhaseRecord, PhaseRecords } from './details.js';
import type { DecisionAction } from './phase-status.js';
import { PHASE, PHASES, type Phase, type PhaseStatus } from './phases.js';
import { specifierOf } from './pins.js';
import { deployHeadline, emptyProvenance, type Provenance } from './provenance.js';
import { DEFAULT_WORKTREE_REF } from './ref.js';
import { formatVersions, type Versions } from './versions.js';
import { decideCommand, decidePayload } from './decide-help.js';
import { STATUS_ICON } from './status-icons.js';
import type { z } from 'zod';
import type { flagsSchema } from './schemas.js';
import { typedFlags } from './flags.js';

/**
 * The progress state. Its legacy part is exactly the seed's state file (init_state / mark_phase);
 * everything after `phases` is additive. The workflow owns it and serves it by query; the CLI mirrors
 * it to disk; nothing else computes phase status.
 */
export type { PhaseRecord, PhaseRecords } from './details.js';

export type RunStatus =
  | 'running'
  | 'waiting_for_target'
  | 'waiting_for_decision'
  | 'completed'
  | 'failed'
  | 'aborted'
  | 'cancelled'
  | 'rolled_back';

/** A run still under way (the CLI keeps following it): working, or queued behind another run on its target. */
export function isActive(status: RunStatus): boolean {
  return status === 'running' || status === 'waiting_for_target';
}

/** Who holds a target (one redeploy per target at a time); shown to the runs waiting for it. */
export interface LockHolder {
  run_id: string;
  started_by: string;
  started_at: string;
}

/** `--rollback-on-failure`: what VERIFY's failure led to. */
export interface RollbackRecord {
  status: 'running' | 'completed' | 'failed';
  /** The pins restored, for every package PIN_UPDATE changed: WORKTREE's pins_found, else PIN_UPDATE's `from`. */
  to: Versions;
  reason: string;
  started_at: string;
  finished_at: string | null;
  /** The rollback step that failed, and why. */
  error: string | null;
}

export interface Decision {
  phase: Phase;
  action: DecisionAction;
  by: string;
  at: string;
  reason?: string;
}
export type { DecisionAction } from './phase-status.js';

export interface PendingDecision {
  phase: Phase;
  error: string;
  since: string;
  deadline: string;
}

/**
 * The run's flags (core/flags.ts: one row each, with its option and help): skips, `--no-wait` (refuse at
 * once when another run holds the target), `--rollback-on-failure` (saga compensation after VERIFY
 * fails), `--lane` (unset: ONEX_DEPLOY_LANE, else dev; recorded so `--resume` keeps it), `--pin-policy`
 * (decided by the CLI by lane; unset in runs of earlier versions: edit).
 */
export type RedeployFlags = z.infer<typeof flagsSchema>;

export interface RedeployState {
  run_id: string;
  worktree_ticket: string;
  worktree_path: string | null;
  worktree_ref: string;
  versions_requested: Versions;
  started_at: string;
  phases: PhaseRecords;
  // Additive fields (legacy readers ignore them).
  status: RunStatus;
  current_phase: Phase | null;
  pending_decision: PendingDecision | null;
  decisions: Decision[];
  flags: RedeployFlags;
  started_by: string;
  /** The runtime host the run was routed to (`--target`), or null for the default task queue. */
  target: string | null;
  workflow_id: string;
  temporal_run_id: string;
  pins_applied: Versions;
  /** While status is waiting_for_target: the run holding the target. */
  waiting_for: LockHolder | null;
  rollback: RollbackRecord | null;
  error: string | null;
  finished_at: string | null;
  /** What was fetched, written and run: origin ref and commit, Dockerfile SHA-256, deploy script. */
  provenance: Provenance;
  /** --require-proven: the proof the run was started under; `--resume` carries it (the gate stays). */
  proven?: { lane: string; run_id: string; commit: string };
  /** Incremented on every change, so a watcher can tell "new" from "same" without diffing. */
  version: number;
}

export interface RedeployInput {
  runId: string;
  worktreeTicket: string;
  versions: Versions;
  flags: RedeployFlags;
  startedBy: string;
  /** Runtime host (`--target`); the run's task queue is that host's. */
  target?: string;
  /** The origin branch the worktree is based on (`--ref`); default `main`. */
  ref?: string;
  /** Phases already settled in an earlier run (resume): kept as they are, not run again. */
  resumeFrom?: {
    phases: Partial<PhaseRecords>;
    worktreePath: string | null;
    startedAt?: string;
    /** The closed run's provenance (its WORKTREE's base commit, PIN_UPDATE's Dockerfile SHA-256). */
    provenance?: Provenance;
  };
  /** How long a failed phase waits for an operator decision before the run fails (ms). */
  decisionTimeoutMs?: number;
  /**
   * --require-proven: the run on the proving lane that deployed `commit` with the same versions. DEPLOY
   * refuses any other commit; its run ID goes into the provenance.
   */
  proven?: { lane: string; run_id: string; commit: string };
  /**
   * The target lock's workflow ID (core/target-lock.ts), from the task queue the run is sent to. In the
   * input, not read from workflowInfo(): a replay must see the same ID whatever queue replays it.
   */
  lockId?: string;
  /** How long a run waits for its target to be free before it fails (ms). */
  targetWaitTimeoutMs?: number;
  /**
   * The starting CLI's skill context id (CLAUDE_CONTEXT_ID…): the worker writes the skill result where
   * that skill reads it, not under its own environment's id.
   */
  skillContext?: string;
}

export function initState(
  input: RedeployInput,
  ids: { workflowId: string; runId: string },
  now: string,
): RedeployState {
  const carried = input.resumeFrom?.phases ?? {};
  // Every row of the table, in its order: what an earlier run carried, else pending.
  const phases = Object.fromEntries(
    PHASES.map((p): [Phase, PhaseRecord] => [p, carried[p] ?? { status: 'pending' }]),
  ) as PhaseRecords;
  return {
    run_id: input.runId,
    worktree_ticket: input.worktreeTicket,
    worktree_path: input.resumeFrom?.worktreePath ?? null,
    worktree_ref: input.ref ?? DEFAULT_WORKTREE_REF,
    versions_requested: input.versions,
    started_at: input.resumeFrom?.startedAt ?? now,
    phases,
    status: 'running',
    current_phase: null,
    pending_decision: null,
    decisions: [],
    flags: input.flags,
    started_by: input.startedBy,
    target: input.target ?? null,
    workflow_id: ids.workflowId,
    temporal_run_id: ids.runId,
    pins_applied: {},
    waiting_for: null,
    rollback: null,
    error: null,
    finished_at: null,
    provenance: {
      ...(input.resumeFrom?.provenance ?? emptyProvenance(input.ref ?? DEFAULT_WORKTREE_REF)),
      ...(input.proven ? { proven_by: input.proven.run_id } : {}),
    },
    ...(input.proven ? { proven: input.proven } : {}),
    version: 0,
  };
}

/** The seed's mark_phase: the phase record is replaced by {status, ts, …details}. */
export function markPhase<P extends Phase>(
  state: RedeployState,
  phase: P,
  status: PhaseStatus,
  now: string,
  details: Partial<PhaseDetails[P]> & FailureDetails = {},
): void {
  const record: PhaseRecord<P> = { status, ts: now, ...details };
  state.phases[phase] = record;
  state.current_phase = status === 'running' || status === 'failed' ? phase : state.current_phase;
  state.version++;
}

export function touch(state: RedeployState): void {
  state.version++;
}

/** `{P: status}` as the skill result carries it. */
export function phaseStatuses(state: Pick<RedeployState, 'phases'>): Record<Phase, PhaseStatus> {
  return Object.fromEntries(PHASES.map((p) => [p, state.phases[p].status])) as Record<Phase, PhaseStatus>;
}

/**
 * The exact command that continues a run: `--resume` takes its flags from the command line (skips are
 * not carried over), so they are all spelled out.
 */
export function resumeCommand(
  run: {
    run_id: string;
    versions_requested: Versions;
    flags: RedeployFlags;
    target?: string | null;
  },
  /** How the command is typed here (the CLI knows; a message read elsewhere says `redeploy`). */
  prog = 'redeploy',
): string {
  const typed = typedFlags(run.flags, (row) => row.resumeSpells === true);
  const flags = [...typed, ...(run.target ? [`--target ${run.target}`] : [])].map((f) => ` ${f}`).join('');
  return `${prog} --resume ${run.run_id} --versions "${formatVersions(run.versions_requested)}"${flags}`;
}

/** `waiting for <run_id> (started by <user>@<host> at <time>)`, as the CLI and the Web UI show it. */
export function waitingLine(h: LockHolder): string {
  return `waiting for ${h.run_id} (started by ${h.started_by} at ${h.started_at})`;
}

/** `pkg==1.2.0` for an exact version, `pkg>=1,<2` for a range, bare `pkg` when it was unpinned. */
export function formatPins(pins: Versions): string {
  return Object.entries(pins)
    .map(([k, v]) => `${k}${specifierOf(v)}`)
    .join(', ');
}

/** How many of the failed phase's (masked) log lines the Web UI's details show. */
const DETAILS_TAIL_LINES = 8;

/**
 * A waiting run's first lines in the Web UI: which phase failed, why, and what to send from the UI's
 * Update dialog or a shell to go on.
 */
function decisionNotes(state: RedeployState, d: PendingDecision): string[] {
  const record = state.phases[d.phase];
  const errorLines = d.error.split('\n').filter((l) => l.trim());
  const why = [errorLines[0], errorLines.length > 1 ? errorLines.at(-1) : undefined]
    .filter((l): l is string => l !== undefined)
    .map((l) => l.slice(0, 200))
    .join(' … ');
  const tail = (Array.isArray(record.log_tail) ? record.log_tail : [])
    .filter((l): l is string => typeof l === 'string')
    .slice(-DETAILS_TAIL_LINES)
    // A fence inside the tail would end the code block early and let the log render as markdown.
    .map((l) => l.replace(/`{3,}/g, "'''").slice(0, 200));
  // A phase an operator may not skip (the validator refuses it: WORKTREE) is not offered a skip.
  const actions: DecisionAction[] = PHASE[d.phase].operatorSkip
    ? ['retry', 'skip', 'abort']
    : ['retry', 'abort'];
  const code = (s: string) => `\`${s}\``;
  return [
    `**${d.phase} failed — the run waits for your decision** (until ${d.deadline})`,
    '',
    `Why: ${why.replace(/</g, '&lt;')}`, // shown as markdown: no HTML from a log
    ...(tail.length ? ['', `Last lines of ${d.phase}.log:`, '```text', ...tail, '```'] : []),
    '',
    // Typed on this tab in UI 2.42, every r/R goes to the UI's "refresh" key, even inside the dialog: `ety`
    // (2.54 no longer does). The history tab is "History" on 2.42, "Event History" on 2.54: both named.
    '**First open the History tab** ("Event History" in Web UI 2.54)**:** on this User Metadata tab ' +
      'Web UI 2.42 takes every `r`/`R` you type as "refresh", even in the dialog.  ',
    `**Decide there:** More Actions → Send an Update → Name ${code('decide')} → Data ` +
      `${code(decidePayload(d.phase))} (action ${actions.map(code).join(', ')}; click outside the ` +
      'Data box before Submit).  ',
    `**Or from a shell:** ${actions.map((a) => code(decideCommand(state.run_id, d.phase, a))).join(' · ')}`,
    '',
  ];
}

/** The markdown phase table shown as the workflow's current details in the Web UI. */
export function renderDetails(state: RedeployState): string {
  const rows = PHASES.map((p) => {
    const r = state.phases[p];
    // First line says what failed; the last line of a multi-line error is usually why.
    const lines = typeof r.error === 'string' ? r.error.split('\n').filter((l) => l.trim()) : [];
    const first = (lines[0] ?? '').slice(0, 100);
    const note = lines.length > 1 ? `${first} … ${(lines.at(-1) ?? '').slice(0, 100)}` : first;
    return `| ${STATUS_ICON[r.status]} ${p} | ${r.status} | ${r.ts ?? ''} | ${(note ?? '').replace(/\|/g, '\\|')} |`;
  });
  const versions = Object.entries(state.versions_requested)
    .map(([k, v]) => `${k}==${v}`)
    .join(', ');
  // What the run is waiting for, or what its rollback did, comes first: the Web UI clips a long table.
  const notes: string[] = [];
  if (state.waiting_for) notes.push(`**${waitingLine(state.waiting_for)}**`, '');
  if (state.rollback) {
    const r = state.rollback;
    const error = r.error ? ` — ${r.error.replace(/\n/g, ' ')}` : '';
    notes.push(`**Rollback to ${formatPins(r.to) || '—'}: ${r.status}**${error}`, '');
  }
  const lines = [
    ...(state.pending_decision ? decisionNotes(state, state.pending_decision) : []),
    `**${state.run_id}** — ${state.status}${state.current_phase ? ` (${state.current_phase})` : ''}`,
    '',
    ...notes,
    `Versions: ${versions || '—'}  `,
    `${deployHeadline(state.provenance, state.phases.DEPLOY.status, !state.finished_at)}  `,
    `Worktree: ${state.worktree_path ?? '—'}  `,
    `Started by ${state.started_by} at ${state.started_at}`,
    '',
    '| Phase | Status | Since | Note |',
    '|---|---|---|---|',
    ...rows,
    // The UI sizes its iframe from body.scrollHeight, which leaves out the last ~24 px (the body's
    // margins): without a blank last paragraph that clip cuts the table's last row. A no-break space
    // (U+00A0), not `&nbsp;`: the UI's markdown shows entities literally; CommonMark keeps U+00A0 as text.
    '',
    '\u00a0',
  ];
  return lines.join('\n');
}
