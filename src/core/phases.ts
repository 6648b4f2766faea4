import {
  deployCommand,
  fetchRefCommand,
  formatCommand,
  infisicalCommand,
  joinPath,
  pinScriptCommand,
  syncCommand,
  versionCheckCommand,
  worktreeAddCommand,
  DOCKERFILE_REL,
  type CommandSpec,
  type InfisicalScript,
} from './commands.js';
import type { HealthResult, Phase, PhaseRecord, PhaseRecords, VersionResult } from './details.js';
import type { PhaseStatus } from './phase-status.js';
import type { Versions } from './versions.js';

export type { Phase } from './details.js';
export { PHASE_STATUSES, type PhaseStatus } from './phase-status.js';

/** The run flags that skip a phase (a subset of RedeployFlags, declared here so phases.ts needs no state). */
export interface SkipFlags {
  skipSync: boolean;
  skipDockerfileUpdate: boolean;
  skipInfisical: boolean;
  verifyOnly: boolean;
}

/** The activity-options groups (workflows/options.ts): how long a phase may take and how it retries. */
export type OptionsGroup = 'quick' | 'git' | 'long' | 'seed' | 'verify' | 'notify';

/** What the workflow knows when it calls a phase: its Web UI summary is built from it. */
export interface CallFacts {
  ticket: string;
  ref: string;
  versions: Versions;
  /** WORKTREE's pins_found (display form), once WORKTREE ran. */
  pinsFound: Record<string, string>;
  /** A re-attempt of a phase that may have half-run (DEPLOY then passes --force). */
  reattempt: boolean;
}

/**
 * What a dry run found out (cli/dry-run.ts reads the files; the table only formats): each phase's
 * preview is built from these facts and from the same command builders the activities execute.
 */
export interface PreviewFacts {
  omniHome: string;
  envFile: string;
  ticket: string;
  ref: string;
  worktree: string;
  worktreeExists: boolean;
  versions: Versions;
  pinMode: 'builtin' | 'script';
  /** ENV_CHECK's own variables (REQUIRED_ENV, plus Infisical's when it would run). */
  envVars: string[];
  /** What DEPLOY needs of the environment (today's omnibase_infra), when the tree says. */
  deployNeeds?: { checked: string[]; missing: string[] };
  laneProblem?: string;
  force: { force: boolean; why: string };
  /** The variables DEPLOY adds to the script's environment, when any. */
  deployEnv?: Record<string, string>;
  /** INFISICAL's script, or null when INFISICAL_ADDR is unset (skipped_no_infisical). */
  infisicalScript: InfisicalScript | null;
  endpoints: Record<string, string>;
  verifyTimeoutMs: number;
  /** When the lane chose the endpoints: its name. */
  laneEndpoints?: string;
  container: string;
}

/** What the CLI's line view prints for a completed (or failed) phase: the seed's patterns. */
export interface RunFacts {
  worktree_ticket: string;
  worktree_ref: string;
}

/** Each phase's Temporal activity type: public API (recorded in every history; never rename). */
export interface PhaseActivity {
  SYNC: 'sync';
  ENV_CHECK: 'envCheck';
  WORKTREE: 'worktree';
  PIN_UPDATE: 'pinUpdate';
  DEPLOY: 'deploy';
  INFISICAL: 'infisical';
  VERIFY: 'verify';
  NOTIFY: 'notify';
}
export type PhaseActivityName = PhaseActivity[Phase];

export interface PhaseDef<P extends Phase> {
  /** Its Temporal activity type (a key of activities/index.ts's registry). */
  activity: PhaseActivity[P];
  options: OptionsGroup;
  /** The flag that skips it, as typed on the command line; verifyOnly skips every phase but VERIFY. */
  skippedBy?: { flag: keyof Omit<SkipFlags, 'verifyOnly'>; option: string };
  /** Whether an operator may skip it after a failure (WORKTREE: every later phase needs the worktree). */
  operatorSkip: boolean;
  /** A re-attempt of a half-run phase: `force` (DEPLOY passes --force) or `same` (the phase is idempotent). */
  reattempt: 'force' | 'same';
  /** The Web UI's summary for its activity (after the phase name). */
  summary(f: CallFacts): string;
  /** The dry run's lines: the first follows the phase name, the rest are indented under it. */
  preview(f: PreviewFacts): string[];
  /** The CLI's lines once it completed (before `<PHASE>: completed`). */
  completedLines(d: PhaseRecord<P>, run: RunFacts): string[];
  /** The CLI's lines when it failed (the error itself is printed by the closing lines). */
  failedLines?(d: PhaseRecord<P>): string[];
  /** `rollback`: with --rollback-on-failure, its failure for good starts the rollback (ROLLBACK's steps). */
  onFailure?: 'rollback';
  /**
   * The patch id guarding a phase added after the workflow was released: the loop runs it only where
   * `patched(since)` holds, so a run recorded before it replays without it, and its record is optional
   * in the state-file schema (older state files have none). Never set on the original eight.
   */
  since?: string;
  /** It sends the run's summary (NOTIFY): while it runs, the summary it writes does not name it. */
  sendsSummary?: true;
}

const show = (spec: CommandSpec, withCwd = false) =>
  (withCwd ? `cd ${spec.cwd} && ` : '') + formatCommand(spec);
const exact = (versions: Versions) =>
  Object.entries(versions)
    .map(([k, v]) => `${k}==${v}`)
    .join(', ');

function verifyLines(d: {
  health?: Record<string, HealthResult>;
  versions?: Record<string, VersionResult>;
}): string[] {
  const lines: string[] = [];
  for (const [name, h] of Object.entries(d.health ?? {})) {
    const answer = h.status === 'healthy' ? `${h.code} OK` : `FAILED (${h.error ?? h.code})`;
    lines.push(`VERIFY: ${name} ${h.url} -> ${answer}`);
  }
  for (const [pkg, v] of Object.entries(d.versions ?? {})) {
    lines.push(
      `VERIFY: ${pkg} Version: ${v.actual ?? v.error ?? 'not installed'} (expected ${v.expected}) -> ${v.ok ? 'OK' : 'MISMATCH'}`,
    );
  }
  return lines;
}

/**
 * The phase table: everything that differs from phase to phase, in one place. The workflow, the dry run,
 * the CLI's views, the report and `--resume` read it; adding a phase means adding a row (and its activity).
 */
export const PHASE: { [P in Phase]: PhaseDef<P> } = {
  SYNC: {
    activity: 'sync',
    options: 'git', // git over the network
    skippedBy: { flag: 'skipSync', option: '--skip-sync' },
    operatorSkip: true,
    reattempt: 'same',
    summary: () => 'pull-all.sh',
    preview: (f) => [show(syncCommand(f.omniHome))],
    completedLines: (d) => (d.summary ? [`SYNC: ${d.summary}`] : []),
  },
  ENV_CHECK: {
    activity: 'envCheck',
    options: 'quick',
    operatorSkip: true,
    reattempt: 'same',
    summary: () => 'required variables',
    preview: (f) => [
      `verify ${f.envVars.join(', ')} (worker environment + ${f.envFile})`,
      ...(f.deployNeeds?.checked.length
        ? [
            `and what DEPLOY needs (${f.worktreeExists ? f.worktree : `origin/${f.ref}`}): ${f.deployNeeds.checked.filter((v) => !f.envVars.includes(v)).join(', ')}`,
          ]
        : []),
      ...(f.deployNeeds?.missing.length ? [`WARNING: missing now: ${f.deployNeeds.missing.join(', ')}`] : []),
      ...(f.laneProblem ? [`WARNING: ${f.laneProblem}: ENV_CHECK would fail`] : []),
    ],
    completedLines: (d) => (d.checked ?? []).map((name) => `ENV_CHECK: ${name} OK`),
  },
  WORKTREE: {
    activity: 'worktree',
    options: 'git',
    operatorSkip: false,
    reattempt: 'same',
    summary: (f) => `${f.ticket} from origin/${f.ref}`,
    preview: (f) => [
      show(fetchRefCommand(f.omniHome, f.ref)),
      f.worktreeExists
        ? `reuse ${f.worktree} if it is on branch ${f.ticket} and holds no change but redeploy's pins ` +
          `(reset, then fast-forwarded to origin/${f.ref}); refuse otherwise`
        : show(worktreeAddCommand(f.omniHome, f.worktree, f.ticket, `origin/${f.ref}`)),
    ],
    completedLines: (d, run) => [
      d.reused
        ? `Reusing existing worktree at ${String(d.path)}`
        : `Preparing worktree (new branch '${run.worktree_ticket}') at ${String(d.path)}`,
      ...(typeof d.base_commit === 'string'
        ? [`WORKTREE: based on origin/${d.ref ?? run.worktree_ref} @ ${d.base_commit.slice(0, 12)}`]
        : []),
      ...(d.warnings ?? []).map((w) => `WORKTREE: WARNING ${w}`),
    ],
  },
  PIN_UPDATE: {
    activity: 'pinUpdate',
    options: 'quick',
    skippedBy: { flag: 'skipDockerfileUpdate', option: '--skip-dockerfile-update' },
    operatorSkip: true,
    reattempt: 'same',
    summary: (f) =>
      Object.entries(f.versions)
        .map(([pkg, to]) => {
          const from = f.pinsFound[pkg];
          return `${pkg} ${from ? `${from} → ` : '→ '}${to}`;
        })
        .join(', '),
    preview: (f) => [
      f.pinMode === 'script'
        ? show(pinScriptCommand(f.worktree, f.versions))
        : `rewrite pins in ${joinPath(f.worktree, DOCKERFILE_REL)} (built in): ${Object.keys(f.versions)
            .map((p) => `${p}==${f.versions[p]}`)
            .join(', ')}`,
    ],
    completedLines: (d) =>
      Object.entries(d.pins_applied ?? {}).map(([pkg, c]) => `  ${pkg}: ${c.from} -> ${c.to}`),
  },
  DEPLOY: {
    activity: 'deploy',
    options: 'long',
    operatorSkip: true,
    reattempt: 'force', // a half-run deploy left containers behind: the next attempt passes --force
    summary: (f) => `deploy-runtime.sh${f.reattempt ? ' --force' : ''}`,
    preview: (f) => [
      `${show(deployCommand(f.worktree, f.force.force), true)}${f.force.force ? `   # --force: ${f.force.why}` : ''}`,
      ...(f.deployEnv
        ? [
            `with ${Object.entries(f.deployEnv)
              .map(([k, v]) => `${k}=${v}`)
              .join(' ')}`,
          ]
        : []),
    ],
    completedLines: (d) => [
      `DEPLOY: deploy-runtime.sh --execute --restart${d.force ? ' --force' : ''} -> OK`,
    ],
  },
  INFISICAL: {
    activity: 'infisical',
    options: 'seed',
    skippedBy: { flag: 'skipInfisical', option: '--skip-infisical' },
    operatorSkip: true,
    reattempt: 'same', // seeding is idempotent
    summary: () => 'seed secrets',
    preview: (f) => [
      f.infisicalScript
        ? show(infisicalCommand(f.worktree, f.infisicalScript, f.envFile), true)
        : `[skipped_no_infisical: INFISICAL_ADDR not set]`,
    ],
    completedLines: () => [],
  },
  VERIFY: {
    activity: 'verify',
    options: 'verify',
    operatorSkip: true,
    reattempt: 'same', // it only reads
    summary: (f) => exact(f.versions),
    preview: (f) => [
      `GET ${Object.values(f.endpoints).join(', ')} (in parallel, until ${f.verifyTimeoutMs / 1000}s)`,
      ...(f.laneEndpoints ? [`(lane ${f.laneEndpoints}: ${Object.keys(f.endpoints).join(', ')})`] : []),
      show(versionCheckCommand(f.container, Object.keys(f.versions), f.omniHome)),
    ],
    completedLines: (d) => verifyLines(d),
    failedLines: (d) => verifyLines(d),
    onFailure: 'rollback',
  },
  NOTIFY: {
    activity: 'notify',
    options: 'notify',
    operatorSkip: true,
    reattempt: 'same', // a sent marker keeps a retried post from posting twice
    summary: () => 'run outcome',
    preview: () => [
      '[FULL_ONEX only] Slack (SLACK_BOT_TOKEN + SLACK_CHANNEL_ID, or SLACK_WEBHOOK_URL); else the summary on stdout',
    ],
    completedLines: (d) => (d.channel !== 'stdout' ? [`NOTIFY: posted to Slack (${String(d.channel)})`] : []),
    sendsSummary: true,
  },
};

/*
 * Adding a phase (SMOKE after VERIFY, say):
 * 1. its details type, as a key of PhaseDetails in core/details.ts, at its place in the order (and its
 *    TextKeys line there: the compiler asks);
 * 2. its row here, at the same place, with `since: 'redeploy-phase-smoke'` (the runs recorded before it
 *    replay without it) and its Temporal activity name in PhaseActivity;
 * 3. its activity file in activities/ and its line in activities/index.ts's registry;
 * 4. its call in workflows/phase-calls.ts (the compiler asks for it).
 * Everything else (initial state, state-file schema, --resume, --phase, views) reads the rows; the
 * dry-run's golden file (test/fixtures/dry-run) gains the row's preview line. Tried with a no-op SMOKE:
 * without `since`, four of the six recorded histories (test/fixtures/histories) no longer replay.
 */

/** The phases, in execution order: the rows' order. */
export const PHASES = Object.keys(PHASE) as readonly Phase[];

/** --rollback-on-failure's steps, after a phase whose row says `onFailure: 'rollback'` failed. */
export const ROLLBACK = {
  /** Whose recorded pins (pins_found_raw) are the ones to restore. */
  found: 'WORKTREE',
  /** Writes the restored pins (its record is marked rolled_back). */
  restore: 'PIN_UPDATE',
  /** Deploys them again (marked rolled_back; --force). */
  redeploy: 'DEPLOY',
  /** Checks them. */
  verify: 'VERIFY',
} as const satisfies Record<string, Phase>;

/** The phase a `decide` example names when none is waiting (the one most often decided on). */
export const EXAMPLE_DECISION_PHASE: Phase = 'DEPLOY';

/** The Web UI summary of a phase's activity: at most 200 bytes (the UI's limit for a static summary). */
export function phaseSummary(phase: Phase, f: CallFacts): string {
  return `${phase} ${PHASE[phase].summary(f)}`.slice(0, 200);
}

/** The option that skips `phase` for these flags (`--verify-only`, `--skip-sync` …), or undefined when it runs. */
export function skippingOption(phase: Phase, flags: SkipFlags): string | undefined {
  if (flags.verifyOnly) return phase === 'VERIFY' ? undefined : '--verify-only';
  const by = PHASE[phase].skippedBy;
  return by && flags[by.flag] ? by.option : undefined;
}

/** `skipped_by_flag` when the flags skip `phase`, else undefined (it runs). */
export function flagSkip(phase: Phase, flags: SkipFlags): PhaseStatus | undefined {
  return skippingOption(phase, flags) ? 'skipped_by_flag' : undefined;
}

/** A phase that will not run again on resume: done, or deliberately passed over. */
export function isSettled(status: PhaseStatus): boolean {
  return status === 'completed' || status.startsWith('skipped_');
}

/**
 * A phase recorded as started but not finished (an earlier run failed, died or was cancelled in it) may
 * have half-run: its first attempt in this run is a re-attempt (DEPLOY passes --force).
 */
export function isHalfRun(status: PhaseStatus): boolean {
  return status === 'failed' || status === 'running' || status === 'cancelled';
}

/**
 * What `--resume` carries into the new run: completed phases, and the record of the phase it stopped in
 * (a re-attempt). Skips are not carried: this invocation's flags decide them again.
 */
export function isCarriedOnResume(status: PhaseStatus): boolean {
  return status === 'completed' || isHalfRun(status);
}

/**
 * What a new run under the same id carries over (`--resume`): completed phases, and the record of the
 * phase it stopped in. A phase the earlier run's version did not have (no record) runs in the new one.
 */
export function carriedPhases(prev: { phases: Partial<PhaseRecords> }): Partial<PhaseRecords> {
  const carried: Partial<PhaseRecords> = {};
  for (const p of PHASES) {
    const record: PhaseRecord | undefined = prev.phases[p];
    // A half-run record is kept too: the workflow then treats that phase as a re-attempt (DEPLOY passes
    // --force). Skips are not carried: the flags of this invocation decide again.
    if (record && isCarriedOnResume(record.status)) carried[p] = record;
  }
  return carried;
}

export function isPhase(value: string): value is Phase {
  return (PHASES as readonly string[]).includes(value);
}

/** The phase whose activity type is `name` (histories name activities, not phases). */
export function phaseOfActivity(name: string): Phase | undefined {
  return PHASES.find((p) => PHASE[p].activity === name);
}
