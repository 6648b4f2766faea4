import type { Phase, PhaseStatus } from './phases.js';
import { describeProvenance, type Provenance } from './provenance.js';
import type { Versions } from './versions.js';

/** What a completed run's summary reports: NOTIFY's input, or what the CLI knows when NOTIFY said nothing. */
export interface RunSummary {
  versions: Versions;
  /** Every phase that did not complete is named (a flag's skip too); absent, none is. */
  phases?: Partial<Record<Phase, PhaseStatus>>;
  outcome: 'complete';
  /** What was deployed (origin ref and commit, Dockerfile SHA-256, script); absent in older histories. */
  provenance?: Provenance;
}

/** `  Deployed: origin/main @ 1a2b3c4d5e6f · Dockerfile sha256 9f8e… · <script>`; nothing when unknown. */
export function provenanceLines(p: Provenance | undefined): string[] {
  if (!p || (!p.base_commit && !p.deployed_commit)) return [];
  const sha = p.dockerfile_sha256 ? ` · Dockerfile sha256 ${p.dockerfile_sha256.slice(0, 16)}` : '';
  return [
    `  Deployed: ${describeProvenance(p)}${sha}`,
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
  // named. NOTIFY still running is the phase writing this very summary.
  const notable = Object.entries(input.phases ?? {}).filter(
    ([p, s]) => s !== 'completed' && !(p === 'NOTIFY' && (s === 'running' || s === 'pending')),
  );
  return [
    `[redeploy] ${runId} ${input.outcome}`,
    `  Pins: ${pins}`,
    notable.length
      ? `  Phases: completed except ${notable.map(([p, s]) => `${p} (${s})`).join(', ')}`
      : '  Phases: all completed',
    ...provenanceLines(input.provenance),
  ];
}
