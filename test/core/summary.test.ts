import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PHASE_STATUSES } from '../../src/core/phases.js';
import { STATUS_ICON, TTY_STATUS_ICON } from '../../src/core/status-icons.js';
import type { PhaseStatus } from '../../src/core/phases.js';
import type { Provenance } from '../../src/core/provenance.js';
import { alertSummary, provenanceLines, summaryLines } from '../../src/core/summary.js';
import { failureLines } from '../../src/activities/notify.js';

const versions = { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' };

describe('run summary', () => {
  it('without phases or provenance it is the three lines the CLI printed when NOTIFY said nothing', () => {
    assert.deepEqual(summaryLines('redeploy-20260301-abc123', { versions, outcome: 'complete' }), [
      '[redeploy] redeploy-20260301-abc123 complete',
      '  Pins: omninode-claude==0.4.0, omniintelligence==0.8.0',
      '  Phases: all completed',
    ]);
  });

  it("names every skip (a flag's, no Infisical, the operator's) and a failure; adds what was deployed", () => {
    const lines = summaryLines('r1', {
      versions: { a: '1' },
      outcome: 'complete',
      phases: {
        SYNC: 'skipped_by_flag',
        INFISICAL: 'skipped_no_infisical',
        DEPLOY: 'completed',
        VERIFY: 'skipped_by_operator',
        NOTIFY: 'failed',
      },
      provenance: {
        ref: 'main',
        base_commit: '1a2b3c4d5e6f7a8b9c0d',
        origin_url: 'https://***@github.com/o/r',
        dockerfile_sha256: '9f8e7d6c5b4a39281706f5e4d3c2b1a0',
        deploy_script: '/wt/scripts/deploy-runtime.sh',
        deployed_commit: null,
      },
    });
    assert.deepEqual(lines, [
      '[redeploy] r1 complete',
      '  Pins: a==1',
      '  Phases: completed except SYNC (skipped_by_flag), INFISICAL (skipped_no_infisical), VERIFY (skipped_by_operator), NOTIFY (failed)',
      // deployed_commit unrecorded (an older run): DEPLOY's status says it was deployed.
      '  Deployed: origin/main @ 1a2b3c4d5e6f · Dockerfile sha256 9f8e7d6c5b4a3928',
      '  Origin: https://***@github.com/o/r',
      '  Script: /wt/scripts/deploy-runtime.sh',
    ]);
  });
});

describe('what a message says was deployed', () => {
  const provenance: Provenance = {
    ref: 'main',
    base_commit: '1a2b3c4d5e6f7a8b9c0d',
    origin_url: null,
    dockerfile_sha256: null,
    deploy_script: null,
    deployed_commit: null,
  };
  it('"Deployed: nothing" when DEPLOY was skipped, failed or never ran; the commit only once it completed', () => {
    const summary = (DEPLOY: PhaseStatus) =>
      summaryLines('r1', { versions: { a: '1' }, outcome: 'complete', phases: { DEPLOY }, provenance }).at(
        -1,
      );
    assert.equal(
      summary('skipped_by_operator'),
      '  Deployed: nothing (DEPLOY skipped_by_operator) · worktree at origin/main @ 1a2b3c4d5e6f',
    );
    assert.equal(
      summary('skipped_by_flag'),
      '  Deployed: nothing (DEPLOY skipped_by_flag) · worktree at origin/main @ 1a2b3c4d5e6f',
    );
    assert.deepEqual(provenanceLines(provenance, 'failed'), [
      '  Deployed: nothing (DEPLOY did not complete) · worktree at origin/main @ 1a2b3c4d5e6f',
    ]);
    assert.deepEqual(provenanceLines(provenance), [
      '  Deployed: nothing (DEPLOY did not run) · worktree at origin/main @ 1a2b3c4d5e6f',
    ]);
    assert.deepEqual(provenanceLines({ ...provenance, deployed_commit: '1a2b3c4d5e6f7a8b9c0d' }), [
      '  Deployed: origin/main @ 1a2b3c4d5e6f',
    ]);
  });

  it('the failure alert of a DEPLOY that failed says nothing was deployed, and its activity is labelled as an alert', () => {
    const lines = failureLines(
      'r1',
      {
        kind: 'failed',
        key: 'failed-DEPLOY-x-1',
        phase: 'DEPLOY',
        error: 'deploy-runtime.sh failed (exit 1)',
        versions: { a: '1' },
        flags: { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false },
        target: null,
        provenance,
        deploy: 'failed',
      },
      'http://ui/r1',
    );
    assert.equal(
      lines.find((l) => l.includes('Deployed')),
      '  Deployed: nothing (DEPLOY did not complete) · worktree at origin/main @ 1a2b3c4d5e6f',
    );
    assert.equal(alertSummary('failed', 'DEPLOY'), 'failure alert: DEPLOY failed — waiting for a decision');
    assert.equal(alertSummary('aborted', 'VERIFY'), 'failure alert: aborted at VERIFY');
    assert.equal(
      alertSummary('rolled_back', 'VERIFY', { a: '>=1,<2' }),
      'failure alert: VERIFY failed — rolled back to a>=1,<2',
    );
  });
});

describe('run summary: NOTIFY', () => {
  it('NOTIFY writing the summary (running) is not named; a skipped NOTIFY is, and then nothing says "all completed"', () => {
    const all = { SYNC: 'completed', DEPLOY: 'completed' } as const;
    assert.equal(
      summaryLines('r', { versions, outcome: 'complete', phases: { ...all, NOTIFY: 'running' } })[2],
      '  Phases: all completed',
    );
    const skipped = summaryLines('r', {
      versions,
      outcome: 'complete',
      phases: { ...all, NOTIFY: 'skipped_by_operator' },
    });
    assert.equal(skipped[2], '  Phases: completed except NOTIFY (skipped_by_operator)');
    assert.ok(!skipped.join('\n').includes('all completed'));
  });
});

describe('status icons', () => {
  it('every status has a glyph in both views; they differ only where the terminal view always did', () => {
    for (const s of PHASE_STATUSES) {
      assert.ok(STATUS_ICON[s], s);
      assert.equal(typeof TTY_STATUS_ICON[s], 'string', s);
    }
    const differ = PHASE_STATUSES.filter((s) => STATUS_ICON[s] !== TTY_STATUS_ICON[s]);
    assert.deepEqual(differ, ['running', 'skipped_by_flag', 'skipped_no_infisical', 'skipped_by_operator']);
    assert.equal(TTY_STATUS_ICON.skipped_by_operator, '↷');
  });
});
