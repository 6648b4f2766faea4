import {
  EXAMPLE_DECISION_PHASE,
  PHASE,
  PHASES,
  isSettled,
  type Phase,
  type PhaseDef,
} from '../core/phases.js';
import {
  formatPins,
  resumeCommand,
  waitingLine,
  type PhaseRecord,
  type RedeployState,
} from '../core/state.js';
import { TTY_STATUS_ICON } from '../core/status-icons.js';
import { summaryLines } from '../core/summary.js';
import { decideCommand } from '../core/decide-help.js';
import { prog } from '../io/invocation.js';
import type { fitColumns } from './fit-columns.js';
import { terminalLine, terminalSafe } from './terminal-text.js';

/** While --rollback-on-failure compensates: what it restores, and how. */
function rollingLine(state: RedeployState): string {
  return `[redeploy] VERIFY failed: rolling back to ${formatPins(state.rollback?.to ?? {})} (PIN_UPDATE, DEPLOY --force, VERIFY)`;
}

/** A change of the run's wait for its target, once per holder (the state says it on every poll). */
function waitKey(state: RedeployState): string {
  return state.waiting_for ? `${state.waiting_for.run_id}@${state.waiting_for.started_at}` : '';
}

/**
 * Renders progress from the workflow's progress state — the single source of truth — in three forms:
 * the seed's line patterns (not a TTY), one JSON object per event (--json), a live phase list (TTY).
 */
export interface Live {
  /** Latest output line of the running phase (from its activity heartbeat). */
  lastLine?: string;
}

/**
 * Which phases an attached view shows as carried over rather than as news: a list (a closed run resumed
 * under its id: the phases it carried into the new run), or `attach` (the CLI attaches to a run already
 * under way — a retry, `--resume` of a waiting run, `watch`: whatever was settled when it attached).
 */
export type Carried = Phase[] | 'attach';

/** The phases `carried` names in the first state a view sees. */
function carriedIn(state: RedeployState, carried: Carried): Phase[] {
  if (carried !== 'attach') return carried.filter((p) => state.phases[p].status === 'completed');
  return PHASES.filter((p) => isSettled(state.phases[p].status));
}

/** `[redeploy] carried over, not run again: ENV_CHECK, WORKTREE completed · SYNC skipped_by_flag`. */
export function carriedLine(state: RedeployState, phases: Phase[]): string {
  const byStatus = new Map<string, Phase[]>();
  for (const p of phases)
    byStatus.set(state.phases[p].status, [...(byStatus.get(state.phases[p].status) ?? []), p]);
  const parts = [...byStatus].map(([status, ps]) => `${ps.join(', ')} ${status}`);
  return `[redeploy] carried over, not run again: ${parts.join(' · ')}`;
}

export interface Reporter {
  started(runId: string, url: string): void;
  update(state: RedeployState, live?: Live): void;
  /** The run stopped being attached: ended, waiting for a decision, detached. */
  finished(state: RedeployState | undefined, exitCode: number): void;
  note(line: string): void;
}

export function resumeHint(
  state: Pick<RedeployState, 'run_id' | 'versions_requested' | 'flags'> & { target?: string | null },
): string {
  return `Resume with: ${resumeCommand(state, prog())}`;
}

/** The seed's summary: NOTIFY's own lines; without them (NOTIFY skipped), one naming every phase that did not complete. */
function runSummary(state: RedeployState): string[] {
  const notify = state.phases.NOTIFY;
  if (typeof notify.message === 'string') return notify.message.split('\n');
  const phases = Object.fromEntries(Object.entries(state.phases).map(([p, r]) => [p, r.status]));
  return summaryLines(state.run_id, { versions: state.versions_requested, outcome: 'complete', phases });
}

/** The seed's lines for a phase that reached `record.status` (per phase: core/phases.ts). */
export function phaseLines<P extends Phase>(
  state: RedeployState,
  phase: P,
  record: PhaseRecord<P>,
): string[] {
  if (record.status === 'running') return [`[redeploy] ${phase} started`];
  const def: PhaseDef<P> = PHASE[phase];
  if (record.status === 'failed') return def.failedLines?.(record) ?? [];
  if (record.status !== 'completed') return [`${phase}: ${record.status}`];
  const lines = def.completedLines(record, state);
  // NOTIFY's summary itself is printed once, at the end.
  return def.sendsSummary ? lines : [...lines, `${phase}: completed`];
}

/** What a finished attachment prints last: the summary, or the error and how to continue. */
export function closingLines(state: RedeployState): string[] {
  switch (state.status) {
    case 'completed':
      return runSummary(state);
    case 'waiting_for_decision': {
      const p = state.pending_decision;
      const log = p ? state.phases[p.phase].log_file : undefined;
      return [
        `ERROR in ${p?.phase}: ${p?.error}`,
        ...(typeof log === 'string' ? [`  Full log: ${log}`] : []),
        resumeHint(state),
        `  (or: ${p ? `${decideCommand(state.run_id, p.phase, 'skip', prog())} · ` : ''}${decideCommand(state.run_id, EXAMPLE_DECISION_PHASE, 'abort', prog())}; waits until ${p?.deadline})`,
      ];
    }
    case 'rolled_back': {
      const rb = state.rollback;
      return [
        `[redeploy] ${state.run_id} rolled back to ${formatPins(rb?.to ?? {})}: VERIFY failed, the previous pins are deployed and verified again`,
        `  VERIFY: ${(rb?.reason ?? '').split('\n')[0] ?? ''}`,
        resumeHint(state),
      ];
    }
    case 'cancelled':
      return [
        `[redeploy] ${state.run_id} cancelled${state.current_phase ? ` during ${state.current_phase}` : ''}`,
      ];
    default: {
      // No phase: the run ended before its first one (the target stayed busy, --no-wait).
      const where = state.current_phase ? ` in ${state.current_phase}` : '';
      return [`ERROR${where}: ${state.error ?? state.status}`, resumeHint(state)];
    }
  }
}

/** Not a TTY: one line per event, in the seed's patterns. */
export class LineReporter implements Reporter {
  private readonly seen = new Map<Phase, string>();
  /**
   * `carried`: phases settled before this view, announced once as carried over (a resumed closed run's
   * are already named by its `Resuming …` line), never replayed as if they ran now.
   */
  constructor(
    private readonly write: (line: string) => void,
    private readonly carried: Carried = [],
  ) {}
  private waited = '';
  private rolling = false;
  started(runId: string, url: string): void {
    this.write(`[redeploy] ${runId} — ${url}`);
  }
  update(state: RedeployState): void {
    if (waitKey(state) !== this.waited) {
      this.waited = waitKey(state);
      if (state.waiting_for) this.write(`[redeploy] ${waitingLine(state.waiting_for)}`);
    }
    // Minutes of redeploying under phases already marked rolled_back: say what is going on.
    if (state.rollback?.status === 'running' && !this.rolling) {
      this.rolling = true;
      this.write(rollingLine(state));
    }
    if (this.seen.size === 0) {
      const carried = carriedIn(state, this.carried);
      if (this.carried === 'attach' && carried.length) this.write(carriedLine(state, carried));
      for (const p of carried) this.seen.set(p, `${state.phases[p].status}@${state.phases[p].ts ?? ''}`);
    }
    for (const phase of PHASES) {
      const r = state.phases[phase];
      const key = `${r.status}@${r.ts ?? ''}`;
      if (this.seen.get(phase) === key) continue;
      this.seen.set(phase, key);
      if (r.status === 'pending') continue;
      for (const line of phaseLines(state, phase, r)) this.write(line);
    }
  }
  finished(state: RedeployState | undefined): void {
    if (state) for (const line of closingLines(state)) this.write(line);
  }
  note(line: string): void {
    this.write(line);
  }
}

/** --json: one object per line; `event` says which. */
export class JsonReporter implements Reporter {
  private readonly seen = new Map<Phase, string>();
  private carriedOver: Set<Phase> | undefined;
  /** `carried`: as LineReporter's; their phase events say `"carried": true`. */
  constructor(
    private readonly write: (line: string) => void,
    private readonly carried: Carried = [],
  ) {}
  private emit(event: Record<string, unknown>): void {
    this.write(JSON.stringify(event));
  }
  started(runId: string, url: string): void {
    this.emit({ event: 'started', run_id: runId, url });
  }
  private waited = '';
  private rollback = '';
  update(state: RedeployState): void {
    if ((state.rollback?.status ?? '') !== this.rollback) {
      this.rollback = state.rollback?.status ?? '';
      if (state.rollback) this.emit({ event: 'rollback', run_id: state.run_id, ...state.rollback });
    }
    if (waitKey(state) !== this.waited) {
      this.waited = waitKey(state);
      if (state.waiting_for)
        this.emit({
          event: 'waiting_for_target',
          run_id: state.run_id,
          holder: state.waiting_for,
          message: waitingLine(state.waiting_for),
        });
    }
    this.carriedOver ??= new Set(carriedIn(state, this.carried));
    for (const phase of PHASES) {
      const r = state.phases[phase];
      const key = `${r.status}@${r.ts ?? ''}`;
      if (this.seen.get(phase) === key) continue;
      const carried = !this.seen.has(phase) && this.carriedOver.has(phase);
      this.seen.set(phase, key);
      if (r.status !== 'pending')
        this.emit({
          event: 'phase',
          run_id: state.run_id,
          phase,
          ...r,
          ...(carried ? { carried: true } : {}),
        });
    }
    if (state.pending_decision)
      this.emit({ event: 'waiting_for_decision', run_id: state.run_id, ...state.pending_decision });
  }
  finished(state: RedeployState | undefined, exitCode: number): void {
    this.emit({
      event: 'finished',
      run_id: state?.run_id,
      status: state?.status ?? 'detached',
      exit_code: exitCode,
      state,
    });
  }
  note(line: string): void {
    this.emit({ event: 'note', message: line });
  }
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** A TTY: a live phase list redrawn in place (spinner, elapsed time, the phase's latest output line). */
export class TtyReporter implements Reporter {
  private state: RedeployState | undefined;
  private live: Live = {};
  private drawn = 0;
  private frame = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly color: boolean;
  /** `PHASE@ts` of each carried record: the label goes once the phase gets a new record. */
  private carriedOver: Set<string> | undefined;
  constructor(
    private readonly stream: NodeJS.WriteStream,
    /** cli/fit-columns.ts's, passed in: string-width and its Intl.Segmenter cost ~20–45 ms to load, a TTY's only. */
    private readonly fit: typeof fitColumns,
    env: NodeJS.ProcessEnv = process.env,
    private readonly now: () => number = Date.now,
    /** As LineReporter's: shown `completed (carried over)` while their record stays the one carried. */
    private readonly carried: Carried = [],
  ) {
    this.color = !env['NO_COLOR'];
  }
  private paint(code: string, text: string): string {
    return this.color ? `\x1b[${code}m${text}\x1b[0m` : text;
  }
  started(runId: string, url: string): void {
    this.stream.write(`[redeploy] ${runId} — ${url}\n`);
    this.timer = setInterval(() => this.draw(), 120);
    this.timer.unref();
  }
  update(state: RedeployState, live: Live = {}): void {
    this.carriedOver ??= new Set(
      carriedIn(state, this.carried).map((p) => `${p}@${state.phases[p].ts ?? ''}`),
    );
    this.state = state;
    this.live = live;
    this.draw();
  }
  render(): string[] {
    const s = this.state;
    if (!s) return [];
    const width = this.stream.columns || 100;
    // Text from the run (and so from scripts) is made terminal-safe before our own colours go around it.
    // `  ⧗ ` takes 4 columns; a line must stay under the width (the colour codes take none).
    const banner = (icon: string, text: string) =>
      `  ${this.paint('33', icon)} ${this.fit(terminalLine(text), width - 1 - 4)}`;
    const waiting = s.waiting_for
      ? [banner('⧗', waitingLine(s.waiting_for))]
      : s.rollback?.status === 'running'
        ? [banner('↩', rollingLine(s))]
        : [];
    const lastLine = terminalLine(this.live.lastLine ?? '');
    return [
      ...waiting,
      ...PHASES.map((p) => {
        const r = s.phases[p];
        const icon =
          r.status === 'running'
            ? this.paint('36', SPINNER[this.frame % SPINNER.length] as string)
            : r.status === 'completed'
              ? this.paint('32', TTY_STATUS_ICON.completed)
              : r.status === 'failed'
                ? this.paint('31', TTY_STATUS_ICON.failed)
                : this.paint('2', TTY_STATUS_ICON[r.status]);
        const elapsed = r.status === 'running' && r.ts ? ` ${clock(this.now() - Date.parse(r.ts))}` : '';
        const carried = this.carriedOver?.has(`${p}@${r.ts ?? ''}`) ? ' (carried over)' : '';
        // Visible width is what matters: a wrapped line would break the cursor-up redraw.
        const visible = `  X ${p.padEnd(10)} ${r.status}${carried}${elapsed}`;
        const room = width - 1 - visible.length - 2;
        const last = r.status === 'running' && lastLine && room > 3 ? this.fit(lastLine, room) : '';
        return `  ${icon} ${p.padEnd(10)} ${r.status}${carried ? this.paint('2', carried) : ''}${elapsed}${last ? `  ${this.paint('2', last)}` : ''}`;
      }),
    ];
  }
  private draw(): void {
    this.frame++;
    const lines = this.render();
    if (lines.length === 0) return;
    // The waiting line goes away when the run starts: blank the rows it leaves instead of leaving it there.
    while (lines.length < this.drawn) lines.push('');
    const up = this.drawn > 0 ? `\x1b[${this.drawn}A` : '';
    this.stream.write(up + lines.map((l) => `\x1b[2K${l}\n`).join(''));
    this.drawn = lines.length;
  }
  finished(state: RedeployState | undefined): void {
    if (this.timer) clearInterval(this.timer);
    if (state) {
      this.state = state;
      this.live = {};
      this.draw();
      for (const line of closingLines(state)) this.stream.write(`${terminalSafe(line)}\n`);
    }
  }
  note(line: string): void {
    this.stream.write(`${terminalSafe(line)}\n`);
    this.drawn = 0; // the note scrolled the list; draw it anew below
  }
}
