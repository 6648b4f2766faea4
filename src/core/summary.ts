import type { Phase, PhaseStatus } from './phases.js';
import { describeProvenance, type Provenance } from './provenance.js';
import type { Versions } from './versions.js';

/** What a completed run's summary reports: NOTIFY's input, or what the CLI knows when NOTIFY said nothing. */
export interface RunSummary {
  versions: Versions;
  /** Phases that neither completed nor were skipped by a flag are named; absent, none is. */
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
  // "all completed" only when it is true: an operator's skip or a failure is named.
  const notable = Object.entries(input.phases ?? {}).filter(
    ([p, s]) =>
      p !== 'NOTIFY' && s !== 'completed' && s !== 'skipped_by_flag' && s !== 'skipped_no_infisical',
  );
  return [
    `[redeploy] ${runId} ${input.outcome}`,
    `  Pins: ${pins}`,
    `  Phases: all completed${notable.length ? ` except ${notable.map(([p, s]) => `${p} (${s})`).join(', ')}` : ''}`,
    ...provenanceLines(input.provenance),
  ];
}
