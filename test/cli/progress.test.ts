import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import stringWidth from 'string-width';
import { TtyReporter } from '../../src/cli/progress.js';
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
  const tty = new TtyReporter(stream, color ? {} : { NO_COLOR: '1' }, () => NOW);
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
