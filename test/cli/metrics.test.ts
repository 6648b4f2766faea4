import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { decideUpdate } from '../../src/workflows/messages.js';
import { freePort } from '../../src/io/dev-server.js';
import { VERSIONS, waitForState, waitingOn } from '../support/harness.js';
import { withHarness } from '../support/suite.js';

const CLIENT = new URL('../../src/client.js', import.meta.url).pathname;

/** `redeploy worker --metrics …` as its own process (the runtime with its exporter is one per process). */
function startWorker(vars: Record<string, string>, args: string[], extra: Record<string, string> = {}) {
  return execa(process.execPath, [CLIENT, 'worker', ...args], {
    env: { ...vars, ...extra },
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
}

/** GET /metrics, as Prometheus scrapes it: the sample lines (no comments). */
async function scrape(address: string): Promise<string[]> {
  const res = await fetch(`http://${address}/metrics`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
  return (await res.text()).split('\n').filter((l) => l && !l.startsWith('#'));
}

/** The value of the first sample named `name` whose labels include every `k="v"` of `labels`. */
function sample(lines: string[], name: string, labels: Record<string, string> = {}): number | undefined {
  const line = lines.find(
    (l) =>
      (l.startsWith(`${name}{`) || l.startsWith(`${name} `)) &&
      Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)),
  );
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; ; await sleep(500)) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
  }
}

describe('redeploy worker --metrics', { concurrency: 1 }, () => {
  const h = withHarness('metrics', { worker: false });

  it('serves the SDK metrics and redeploy runs by outcome, phase durations and decision waits', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    // The env var form; the flag is checked below.
    const worker: ResultPromise = startWorker(h.vars, [], { REDEPLOY_METRICS: address });
    try {
      // A run whose DEPLOY fails and waits for a decision.
      await h.sb.setFault('deploy', { exitCode: 1, message: 'docker compose build: FAILED (simulated)' });
      const failing = await h.start();
      await waitForState(failing, waitingOn('DEPLOY'));
      const waiting = await until('a waiting DEPLOY in the metrics', async () => {
        const lines = await scrape(address);
        return sample(lines, 'redeploy_runs_waiting_for_decision', { phase: 'DEPLOY' }) === 1
          ? lines
          : undefined;
      });
      assert.ok(
        (sample(waiting, 'redeploy_decision_wait_seconds', { phase: 'DEPLOY' }) ?? 0) > 0,
        waiting.join('\n'),
      );
      assert.equal(sample(waiting, 'redeploy_runs_waiting_for_decision', { phase: 'VERIFY' }), 0);
      assert.equal(
        sample(waiting, 'redeploy_phase_attempt_duration_seconds_count', {
          phase: 'DEPLOY',
          outcome: 'failed',
        }),
        1,
      );
      // The SDK's own metrics, from the same endpoint.
      assert.ok(
        waiting.some((l) => l.startsWith('temporal_')),
        'SDK metrics are served',
      );
      assert.ok(
        (sample(waiting, 'temporal_worker_task_slots_available', { worker_type: 'ActivityWorker' }) ?? -1) >=
          0,
      );

      // The operator aborts it; a second run completes.
      await failing.executeUpdate(decideUpdate, {
        args: [{ action: 'abort', phase: 'DEPLOY', by: 'alice' }],
      });
      await assert.rejects(failing.result());
      await h.sb.clearFault('deploy');
      const ok = await h.start();
      const state = await ok.result();
      assert.equal(state.status, 'completed');
      const deployed = await h.sb.deployedPins();
      assert.deepEqual(
        [deployed['omninode-claude'], deployed['omniintelligence']],
        [VERSIONS['omninode-claude'], VERSIONS.omniintelligence],
      );

      const after = await until('both outcomes and no waiting run', async () => {
        const lines = await scrape(address);
        return sample(lines, 'redeploy_runs_total', { outcome: 'completed' }) === 1 &&
          sample(lines, 'redeploy_runs_waiting_for_decision', { phase: 'DEPLOY' }) === 0
          ? lines
          : undefined;
      });
      assert.equal(sample(after, 'redeploy_runs_total', { outcome: 'aborted' }), 1, after.join('\n'));
      assert.equal(sample(after, 'redeploy_decision_wait_seconds', { phase: 'DEPLOY' }), 0);
      for (const phase of ['SYNC', 'WORKTREE', 'PIN_UPDATE', 'DEPLOY', 'VERIFY'])
        assert.ok(
          (sample(after, 'redeploy_phase_attempt_duration_seconds_count', { phase, outcome: 'completed' }) ??
            0) >= 1,
          `${phase} timed`,
        );
      assert.ok(
        (sample(after, 'redeploy_phase_attempt_duration_seconds_sum', {
          phase: 'DEPLOY',
          outcome: 'completed',
        }) ?? 0) > 0,
      );
      // Buckets in seconds, up to DEPLOY's hour.
      assert.equal(
        sample(after, 'redeploy_phase_attempt_duration_seconds_bucket', {
          phase: 'DEPLOY',
          outcome: 'completed',
          le: '3600',
        }),
        1,
      );
    } finally {
      worker.kill('SIGTERM');
      const r = await worker;
      assert.match(String(r.all), new RegExp(`Prometheus metrics on http://${address}/metrics`));
    }
  });

  it('--metrics takes host:port, and the flag is for `redeploy worker` only', async () => {
    const bad = await startWorker(h.vars, ['--metrics', 'localhost']);
    assert.equal(bad.exitCode, 2);
    assert.match(String(bad.all), /--metrics "localhost" is not host:port \(e\.g\. 127\.0\.0\.1:9464/);
    const envBad = await startWorker(h.vars, [], { REDEPLOY_METRICS: '127.0.0.1:99999' });
    assert.equal(envBad.exitCode, 2);
    assert.match(String(envBad.all), /REDEPLOY_METRICS "127\.0\.0\.1:99999" is not host:port/);
    const status = await execa(process.execPath, [CLIENT, 'list', '--metrics', '127.0.0.1:9464'], {
      env: h.vars,
      extendEnv: false,
      reject: false,
      all: true,
    });
    assert.equal(status.exitCode, 2);
    assert.match(String(status.all), /--metrics applies to `redeploy worker` only, not `redeploy list`/);

    // A port another process holds: one line, exit 1, no worker.
    const taken = http.createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const busy = `127.0.0.1:${(taken.address() as { port: number }).port}`;
    const inUse = await startWorker(h.vars, ['--metrics', busy]);
    await new Promise((resolve) => taken.close(resolve));
    assert.equal(inUse.exitCode, 1);
    assert.match(
      String(inUse.all),
      new RegExp(`^redeploy: Cannot serve metrics on ${busy}: .*Address already in use.*pick another port`),
    );

    // The flag form serves too.
    const address = `127.0.0.1:${await freePort()}`;
    const worker = startWorker(h.vars, ['--metrics', address]);
    try {
      // The endpoint may answer before the SDK has recorded a metric (an empty page): wait for one.
      const lines = await until('the SDK metrics', async () => {
        const page = await scrape(address);
        return page.some((l) => l.startsWith('temporal_')) ? page : undefined;
      });
      assert.ok(lines.some((l) => l.startsWith('temporal_')));
    } finally {
      worker.kill('SIGTERM');
      await worker;
    }
  });
});
