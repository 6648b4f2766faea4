import { PHASE, isPhase, type Phase, type PhaseStatus } from './phases.js';
import { describeProvenance, notDeployedWhy, type Provenance } from './provenance.js';
import type { Versions } from './versions.js';
import { formatPins } from './state.js';

/** What a completed run's summary reports: NOTIFY's input, or what the CLI knows when NOTIFY said nothing. */
export interface RunSummary {
  versions: Versions;
  /** Every phase that did not complete is named (a flag's skip too); absent, none is. */
  phases?: Partial<Record<Phase, PhaseStatus>>;
  outcome: 'complete';
  /** What was deployed (origin ref and commit, Dockerfile SHA-256, script); absent in older histories. */
  provenance?: Provenance;
}

/**
 * `  Deployed: origin/main @ 1a2b3c4d5e6f · Dockerfile sha256 9f8e… · <script>`; nothing when unknown.
 * Only a DEPLOY that completed (it recorded `deployed_commit`; older runs only the status) is "Deployed":
 * otherwise the line says nothing was, and which commit the worktree was at (`deploy`: DEPLOY's status).
 */
export function provenanceLines(p: Provenance | undefined, deploy?: PhaseStatus): string[] {
  if (!p || (!p.base_commit && !p.deployed_commit)) return [];
  const sha = p.dockerfile_sha256 ? ` · Dockerfile sha256 ${p.dockerfile_sha256.slice(0, 16)}` : '';
  return [
    p.deployed_commit || deploy === 'completed'
      ? `  Deployed: ${describeProvenance(p)}${sha}`
      : `  Deployed: nothing (${notDeployedWhy(deploy)}) · worktree at ${describeProvenance(p)}${sha}`,
    ...(p.origin_url ? [`  Origin: ${p.origin_url}`] : []),
    ...(p.deploy_script ? [`  Script: ${p.deploy_script}`] : []),
  ];
}

/** The seed's summary lines (NOTIFY's stdout and Slack text; the CLI's closing lines). */
export function summaryLines(runId: string, input: RunSummary): string[] {
  const pins = Object.entries(input.versions)
    .map(([k, v]) => `${k}==${v}`)
    .join(', ');
  // "all completed" only when it is true: any skip (a flag's, the operator's, no Infisical) or failure is
  // named. The phase that sends the summary (NOTIFY), still running, is the one writing it.
  const writing = (p: string) => isPhase(p) && PHASE[p].sendsSummary === true;
  const notable = Object.entries(input.phases ?? {}).filter(
    ([p, s]) => s !== 'completed' && !(writing(p) && (s === 'running' || s === 'pending')),
  );
  return [
    `[redeploy] ${runId} ${input.outcome}`,
    `  Pins: ${pins}`,
    notable.length
      ? `  Phases: completed except ${notable.map(([p, s]) => `${p} (${s})`).join(', ')}`
      : '  Phases: all completed',
    ...provenanceLines(input.provenance, input.phases?.DEPLOY),
  ];
}

/** A run that did not complete: what its alert says happened (activities/notify.ts sends it). */
export type FailureKind =
  'failed' | 'aborted' | 'decision_timeout' | 'target_wait_timeout' | 'rolled_back' | 'rollback_failed';

/** The alert's headline: `DEPLOY failed — waiting for a decision`, `aborted at VERIFY` … */
export function alertHeadline(kind: FailureKind, phase: Phase | null, rolledBackTo?: Versions): string {
  const at = phase ?? 'start';
  switch (kind) {
    case 'failed':
      return `${at} failed — waiting for a decision`;
    case 'aborted':
      return `aborted at ${at}`;
    case 'decision_timeout':
      return `failed: no decision on ${at} in time`;
    case 'target_wait_timeout':
      return 'failed: its target stayed busy';
    case 'rolled_back':
      return `${at} failed — rolled back to ${formatPins(rolledBackTo ?? {})}`;
    case 'rollback_failed':
      return `${at} failed — rollback failed`;
  }
}

/**
 * The Web UI summary of the activity that sends an alert: what the alert says, not "NOTIFY": the NOTIFY
 * phase (the success message) is another activity, and this one is no phase.
 */
export function alertSummary(kind: FailureKind, phase: Phase | null, rolledBackTo?: Versions): string {
  return `failure alert: ${alertHeadline(kind, phase, rolledBackTo)}`;
}
