import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { initState, markPhase, renderDetails } from '../../src/core/state.js';
import { runMetadata } from '../../src/cli/commands/metadata.js';
import { SAMPLE_INPUT } from '../support/state.js';

const input = SAMPLE_INPUT;

function waitingOn(phase: 'DEPLOY' | 'WORKTREE', logTail: string[]) {
  const state = initState(input, { workflowId: input.runId, runId: 'r' }, '2026-12-02T00:00:00Z');
  markPhase(state, phase, 'failed', '2026-12-02T00:01:00Z', {
    error: 'it broke\nfor this reason',
    log_tail: logTail,
  });
  state.status = 'waiting_for_decision';
  state.current_phase = phase;
  state.pending_decision = { phase, error: 'it broke\nfor this reason', since: 'x', deadline: 'D' };
  return state;
}

describe('the current details of a run waiting for a decision', () => {
  it('start with the failed phase, why, its log tail, and what to send from the UI or a shell', () => {
    const lines = renderDetails(waitingOn('DEPLOY', ['a', 'b', '[deploy] ERROR: no space'])).split('\n');
    assert.equal(lines[0], '**DEPLOY failed — the run waits for your decision** (until D)');
    assert.equal(lines[2], 'Why: it broke … for this reason');
    assert.deepEqual(lines.slice(4, 9), [
      'Last lines of DEPLOY.log:',
      '```text',
      'a',
      'b',
      '[deploy] ERROR: no space',
    ]);
    const text = lines.join('\n');
    assert.ok(text.includes('`{"action":"retry","phase":"DEPLOY","by":"your name"}`'));
    assert.ok(text.includes('`redeploy skip --phase DEPLOY redeploy-20261202-abc123`'));
    // The UI's frame leaves out the last ~24 px: the last line is a blank paragraph, not a table row —
    // a no-break space, since the UI shows an entity such as `&nbsp;` literally.
    assert.equal(lines.at(-1), '\u00a0');
    assert.ok(!/&[a-z]+;/.test(text.replace(/&lt;/g, '')), 'no HTML entity but the escaped `<` of a log');
  });

  it('say "Deploys" only while DEPLOY is to come, and "Deployed: nothing" when it was skipped or never ran', () => {
    const base = { ...initState(input, { workflowId: input.runId, runId: 'r' }, 'T') };
    base.provenance = { ...base.provenance, base_commit: '1a2b3c4d5e6f7a8b' };
    const header = (s: typeof base) =>
      renderDetails(s)
        .split('\n')
        .find((l) => l.startsWith('Deploy'));
    assert.equal(header(base), 'Deploys: origin/main @ 1a2b3c4d5e6f  ');
    const skipped = structuredClone(base);
    markPhase(skipped, 'DEPLOY', 'skipped_by_operator', 'T2', { by: 'bob' });
    assert.equal(
      header(skipped),
      'Deployed: nothing (DEPLOY skipped_by_operator) · worktree at origin/main @ 1a2b3c4d5e6f  ',
    );
    const aborted = structuredClone(base);
    markPhase(aborted, 'DEPLOY', 'failed', 'T2');
    assert.equal(
      header(aborted),
      'Deploys: origin/main @ 1a2b3c4d5e6f  ',
      'waiting: a retry still deploys it',
    );
    aborted.finished_at = 'T3';
    aborted.status = 'aborted';
    assert.equal(
      header(aborted),
      'Deployed: nothing (DEPLOY did not complete) · worktree at origin/main @ 1a2b3c4d5e6f  ',
    );
    const done = structuredClone(base);
    markPhase(done, 'DEPLOY', 'completed', 'T2');
    done.provenance.deployed_commit = '1a2b3c4d5e6f7a8b';
    assert.equal(header(done), 'Deployed: origin/main @ 1a2b3c4d5e6f  ');
  });

  it('keep a fence in the log from ending the code block, and offer no skip for WORKTREE', () => {
    const text = renderDetails(waitingOn('WORKTREE', ['```', '<b>x</b>']));
    assert.equal(text.split('```').length - 1, 2, 'only the block’s own fences');
    assert.ok(!text.includes('redeploy skip'));
    assert.ok(text.includes('`redeploy abort redeploy-20261202-abc123`'));
  });
});

describe('the static summary and details of a run the CLI starts', () => {
  it('say what it deploys, where and who started it how', () => {
    const m = runMetadata(input, 'redeploy', ['--versions', 'omninode-claude=0.4.0', '--skip-sync', "it's"]);
    assert.equal(m.staticSummary, 'redeploy omninode-claude=0.4.0 on default target · by alice@host');
    assert.ok(
      m.staticDetails.startsWith(
        "**Command:** `redeploy --versions omninode-claude=0.4.0 --skip-sync 'it'\\''s'`",
      ),
    );
    assert.ok(m.staticDetails.includes('**Flags:** `--skip-sync`'));
  });

  it('keep the summary within Temporal’s 200 bytes, cut on a character boundary', () => {
    const versions = Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`paquet-é${i}`, `${i}.0.0`]));
    const { staticSummary } = runMetadata({ ...input, versions }, 'redeploy', undefined);
    assert.ok(Buffer.byteLength(staticSummary) <= 200, `${Buffer.byteLength(staticSummary)} bytes`);
    assert.ok(Buffer.byteLength(staticSummary) >= 190, 'not cut shorter than needed');
    assert.ok(staticSummary.endsWith('…') && !staticSummary.includes('\uFFFD'));
  });
});
