import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import stringWidth from 'string-width';
import { JsonReporter, LineReporter, TtyReporter } from '../../src/cli/progress.js';
import { fitColumns } from '../../src/cli/fit-columns.js';
import { initState, markPhase } from '../../src/core/state.js';
import { SAMPLE_INPUT } from '../support/state.js';

const input = SAMPLE_INPUT;
const NOW = Date.parse('2026-12-02T00:01:05Z');

/** A stand-in for the operator's terminal: its width, and what was written to it. */
function terminal(columns: number) {
  const written: string[] = [];
  const stream = { columns, write: (s: string) => written.push(s) > 0 };
  return { stream: stream as unknown as NodeJS.WriteStream, written };
}

function rendered(columns: number, color: boolean, lastLine: string, waitingBy?: string): string[] {
  const { stream } = terminal(columns);
  const tty = new TtyReporter(stream, fitColumns, color ? {} : { NO_COLOR: '1' }, () => NOW);
  const state = initState(input, { workflowId: input.runId, runId: 'r' }, '2026-12-02T00:00:00Z');
  markPhase(state, 'DEPLOY', 'running', '2026-12-02T00:01:00Z');
  if (waitingBy)
    state.waiting_for = { run_id: 'redeploy-20261202-def456', started_by: waitingBy, started_at: 'T' };
  tty.update(state, { lastLine });
  return tty.render();
}

describe('the live view fits the terminal', () => {
  it("the running phase's latest line, in CJK and emoji, never takes more columns than the terminal has", () => {
    const wide = '[deploy] 构建镜像中 — 第 3 步 / 共 12 步 🚀🚀🚀 '.repeat(4);
    for (const columns of [40, 41, 60, 61, 80]) {
      for (const line of rendered(columns, true, wide)) {
        assert.ok(stringWidth(line) <= columns - 1, `${columns}: ${stringWidth(line)} columns: ${line}`);
      }
    }
    const deploy = rendered(60, false, wide).find((l) => l.includes('DEPLOY')) ?? '';
    assert.match(deploy, /^ {2}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] DEPLOY {5}running 0:05 {2}\[deploy\] 构建/);
    assert.equal(stringWidth(deploy), 59, 'filled to the last column but one');
  });

  it('an ASCII line is cut exactly as before: at the width less one column', () => {
    const deploy = rendered(50, false, 'x'.repeat(200)).find((l) => l.includes('DEPLOY')) ?? '';
    assert.equal(deploy, `  ⠙ DEPLOY     running 0:05  ${'x'.repeat(20)}`);
  });

  it('the waiting line is cut by its visible width, its colour codes not counted', () => {
    const [plain] = rendered(50, false, '', 'алиса@хост-'.repeat(5));
    const [colored] = rendered(50, true, '', 'алиса@хост-'.repeat(5));
    assert.equal(stringWidth(plain ?? ''), 49);
    assert.equal(stringWidth(colored ?? ''), 49);
    assert.equal(colored?.replace(/\x1b\[\d+m/g, ''), plain); // eslint-disable-line no-control-regex
  });
});

describe('attaching to a run under way (a retry, --resume of a waiting run, watch)', () => {
  /** A run that completed ENV_CHECK … PIN_UPDATE (SYNC skipped by flag) and now runs DEPLOY again. */
  function retrying() {
    const state = initState(input, { workflowId: input.runId, runId: 'r' }, '2026-12-02T00:00:00Z');
    markPhase(state, 'SYNC', 'skipped_by_flag', '2026-12-02T00:00:00Z');
    markPhase(state, 'ENV_CHECK', 'completed', '2026-12-02T00:00:01Z', { checked: ['A'], env_file: '/e' });
    markPhase(state, 'WORKTREE', 'completed', '2026-12-02T00:00:02Z', {
      path: '/wt',
      reused: false,
      pins_found: {},
      pins_found_raw: {},
      ref: 'main',
      base_commit: 'c'.repeat(40),
      origin_url: null,
    });
    markPhase(state, 'PIN_UPDATE', 'completed', '2026-12-02T00:00:03Z', {
      pins_applied: {},
      mode: 'builtin',
      dockerfile_sha256: 'f'.repeat(64),
    });
    markPhase(state, 'DEPLOY', 'running', '2026-12-02T00:01:00Z');
    return state;
  }

  it('names the phases settled before it once, as carried over, and prints none of their lines again', () => {
    const lines: string[] = [];
    const r = new LineReporter((l) => lines.push(l), 'attach');
    const state = retrying();
    r.update(state);
    r.update(state);
    assert.deepEqual(lines, [
      '[redeploy] carried over, not run again: SYNC skipped_by_flag · ENV_CHECK, WORKTREE, PIN_UPDATE completed',
      '[redeploy] DEPLOY started',
    ]);
    markPhase(state, 'DEPLOY', 'completed', '2026-12-02T00:02:00Z', {
      force: true,
      deployed_commit: 'c'.repeat(40),
      dockerfile_sha256: 'f'.repeat(64),
      deploy_script: '/wt/scripts/deploy-runtime.sh',
    });
    r.update(state);
    assert.equal(lines.at(-1), 'DEPLOY: completed', 'what runs now is reported as always');
  });

  it('a new run announces nothing as carried (its flag skips are news), a resumed closed run only its list', () => {
    const lines: string[] = [];
    const state = retrying();
    new LineReporter((l) => lines.push(l), []).update(state);
    assert.ok(lines.includes('SYNC: skipped_by_flag'));
    assert.ok(lines.includes('ENV_CHECK: completed'));
    const resumed: string[] = [];
    new LineReporter((l) => resumed.push(l), ['ENV_CHECK', 'WORKTREE', 'PIN_UPDATE']).update(retrying());
    assert.deepEqual(resumed, ['SYNC: skipped_by_flag', '[redeploy] DEPLOY started']);
  });

  it('the live view and --json mark the carried phases too', () => {
    const { stream } = terminal(120);
    const tty = new TtyReporter(stream, fitColumns, { NO_COLOR: '1' }, () => NOW, 'attach');
    const state = retrying();
    tty.update(state);
    const shown = tty.render();
    assert.ok(
      shown.some((l) => /ENV_CHECK +completed \(carried over\)$/.test(l)),
      shown.join('\n'),
    );
    assert.ok(
      shown.some((l) => /DEPLOY +running 0:05$/.test(l)),
      shown.join('\n'),
    );
    const events: Record<string, unknown>[] = [];
    new JsonReporter((l) => events.push(JSON.parse(l) as Record<string, unknown>), 'attach').update(state);
    const phases = events.filter((e) => e['event'] === 'phase');
    assert.deepEqual(
      phases.map((e) => [e['phase'], e['carried'] ?? false]),
      [
        ['SYNC', true],
        ['ENV_CHECK', true],
        ['WORKTREE', true],
        ['PIN_UPDATE', true],
        ['DEPLOY', false],
      ],
    );
  });
});
