import type { PinReport } from './pins.js';
import type { PhaseStatus } from './phase-status.js';
import type { Versions } from './versions.js';

/**
 * What each phase records beside its status: defined once, here, and used by the activity that writes
 * it, the workflow that acts on it, the CLI views and the report. Keys are the legacy state file's (the
 * seed's `mark_phase(phase, status, **details)`), so they stay snake_case. Raw data (a pin's original
 * specifier bytes) is kept next to any display form; nothing parses display text back into data.
 */

/** One endpoint's answer, as VERIFY (and DEPLOY's in-script check) polled it. */
export type HealthResult =
  | { url: string; status: 'healthy'; code: number; after_ms: number }
  | { url: string; status: 'unhealthy'; code: number | null; error: string };

export interface VersionResult {
  expected: string;
  actual: string | null;
  ok: boolean;
  error?: string;
}

/** What VERIFY checked the stack against: the deployed commit and Dockerfile. */
export interface VerifiedAgainst {
  ref: string;
  commit: string | null;
  dockerfile_sha256: string | null;
}

/** The lane DEPLOY and VERIFY acted on (today's omnibase_infra). */
export interface LaneDetails {
  lane?: string;
  compose_project?: string;
}

export interface SyncDetails {
  /** pull-all.sh's summary line (command output: masked). */
  summary?: string;
  problems?: string[];
}

export interface EnvCheckDetails {
  checked: string[];
  env_file: string;
  /** Where the DEPLOY-required variables were read from (`origin/<ref>`). */
  derived_from?: string;
  lane?: string;
  /** Weak or path-like secrets, by name only. */
  warnings?: string[];
}

export interface WorktreeDetails {
  path: string;
  reused: boolean;
  /** Display form of each requested package's pin before PIN_UPDATE (`0.3.0`, `>=1,<2`, `unpinned`). */
  pins_found: Record<string, string>;
  /** The same pins' specifier bytes (`''` when unpinned): what a rollback writes back. */
  pins_found_raw: Record<string, string>;
  /** Every place's bytes, per package (a package pinned in two RUN lines has two): restored place by place. */
  pins_found_raw_hits?: Record<string, string[]>;
  ref: string;
  base_commit: string;
  origin_url: string | null;
  warnings?: string[];
  /** A reused worktree was this many commits behind origin, and fast-forwarded. */
  fast_forwarded?: number;
  /** A reused worktree's earlier pin edits were reset first. */
  pins_reset?: boolean;
}

export interface PinUpdateDetails {
  pins_applied: PinReport;
  mode: 'builtin' | 'script';
  /** The run's pin policy (absent in runs of earlier versions: edit). */
  policy?: 'edit' | 'admit';
  dockerfile_sha256: string;
  /** Written by --rollback-on-failure's restore. */
  rollback?: true;
  /** Set on the PIN_UPDATE record when a rollback undoes it: the pins restored (display form). */
  rolled_back_to?: Versions;
}

export interface DeployDetails extends LaneDetails {
  force: boolean;
  deployed_commit: string;
  dockerfile_sha256: string;
  deploy_script: string;
  /** Lines of the script's output that warn (masked). */
  warnings?: string[];
  exit_code?: number | null;
  /** Today's script checked health itself and failed: which endpoint, and what it answered. */
  failed_health?: string[];
  health?: Record<string, HealthResult>;
  restored_previous?: boolean;
}

export interface InfisicalDetails {
  script?: string;
  /** What the seeding changed (masked). */
  diff?: string;
}

/** A promoted lane's proof: the running container's revision label against the deployed commit. */
export interface ImageRevision {
  container: string;
  label: string | null;
  expected: string | null;
  ok: boolean;
}

export interface VerifyDetails {
  verified_against: VerifiedAgainst | null;
  lane?: string;
  image_revision?: ImageRevision;
  health: Record<string, HealthResult>;
  versions: Record<string, VersionResult>;
  failed_health?: string[];
  failed_versions?: string[];
}

export interface NotifyDetails {
  tier: string;
  channel: 'stdout' | 'slack-bot' | 'slack-webhook';
  /** The summary as sent (or printed on stdout). */
  message: string;
  note?: string;
  slack_ts?: string | null;
  duplicate_suppressed?: boolean;
}

/**
 * Every phase and what it records: its keys ARE the phases (`Phase`), so a new phase starts here, with
 * its details type; the compiler then asks for its row (core/phases.ts) and its call (workflows/).
 */
export interface PhaseDetails {
  SYNC: SyncDetails;
  ENV_CHECK: EnvCheckDetails;
  WORKTREE: WorktreeDetails;
  PIN_UPDATE: PinUpdateDetails;
  DEPLOY: DeployDetails;
  INFISICAL: InfisicalDetails;
  VERIFY: VerifyDetails;
  NOTIFY: NotifyDetails;
}
/** A phase's name: part of the legacy state file and of the activity names. */
export type Phase = keyof PhaseDetails;

/**
 * Which of a phase's details are command output (masked where they leave the activity); the rest is
 * data, returned exactly (activities/context.ts).
 */
interface TextKeys {
  SYNC: 'summary';
  ENV_CHECK: never;
  WORKTREE: never;
  PIN_UPDATE: never;
  DEPLOY: 'warnings';
  INFISICAL: 'diff';
  VERIFY: 'health' | 'versions';
  NOTIFY: keyof NotifyDetails;
}
export type PhaseData<P extends Phase> = Omit<PhaseDetails[P], TextKeys[P]>;
export type PhaseText<P extends Phase> = Pick<PhaseDetails[P], TextKeys[P] & keyof PhaseDetails[P]>;

/** What a failed (or operator-skipped) phase records, whatever the phase. */
export interface FailureDetails {
  error?: string;
  /** The failure's stable type (`MissingEnv`, `DeployFailed`, `Timeout` …). */
  error_type?: string;
  /** The phase log's last lines (masked). */
  log_tail?: string[];
  log_file?: string;
  /** Who skipped it (skipped_by_operator). */
  by?: string;
}

/**
 * One phase's record in the state: its status, when it got it, and its details. Partial: a running,
 * failed or skipped phase carries only some of them. A failure adds what its activity knew (a missing
 * variable's name, the unmatched pins …) and a state file may carry fields of other versions: those are
 * kept as they are, untyped (`unknown`), and nothing acts on them.
 */
export type PhaseRecord<P extends Phase = Phase> = {
  status: PhaseStatus;
  ts?: string;
} & Partial<PhaseDetails[P]> &
  FailureDetails & { [extra: string]: unknown };

export type PhaseRecords = { [P in Phase]: PhaseRecord<P> };
