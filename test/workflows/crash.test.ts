// Crash anywhere: a worker SIGKILLed while a phase's activity is in flight is replaced by a new worker
// process and the run completes. DEPLOY is covered in durability.test.ts; this file covers the others but ENV_CHECK (see below)
// (NOTIFY has its own). Each case has its own sandbox, task queue and worker processes and they run in
// parallel: most of a case is Temporal noticing the dead worker (the 30 s heartbeat timeout).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import type { WorkflowHandle } from '@temporalio/client';
import { PHASE, PHASES, type Phase } from '../../src/core/phases.js';
import type { RedeployState } from '../../src/core/state.js';
import { groupAlive } from '../../src/io/exec.js';
import { buildDockerfile, DEFAULT_ENV, DEFAULT_PINS, INFISICAL_TEST_ENV } from '../support/sandbox.js';
import {
  activityRuns,
  createHarness,
  sleepingGroup,
  spawnWorkerProcess,
  VERSIONS,
  waitForState,
  type Harness,
} from '../support/harness.js';
import { HELD_FETCH, slowInfraOrigin } from '../support/slow-origin.js';

/** The attempt number the server recorded for the phase's activity (the attempt that completed it). */
async function completedAttempt(handle: WorkflowHandle, phase: Phase): Promise<number> {
  const { events } = await handle.fetchHistory();
  const scheduled = (events ?? []).find(
    (e) => e.activityTaskScheduledEventAttributes?.activityType?.name === PHASE[phase].activity,
  );
  assert.ok(scheduled?.eventId, `${phase}'s activity was scheduled`);
  const started = (events ?? []).find(
    (e) => String(e.activityTaskStartedEventAttributes?.scheduledEventId ?? '') === String(scheduled.eventId),
  );
  return started?.activityTaskStartedEventAttributes?.attempt ?? 0;
}

async function git(args: string[], env: Record<string, string>): Promise<string> {
  return (await execa('git', args, { env, extendEnv: false })).stdout.trim();
}

/** The in-flight check for phases whose command runs a `sleep`: running, attempt logged, `sleep` in its group. */
async function commandInFlight(h: Harness, handle: WorkflowHandle, phase: Phase): Promise<number> {
  const runId = handle.workflowId;
  await waitForState(handle, (s) => s.phases[phase].status === 'running', 90_000);
  const pgid = await sleepingGroup(h.config.logDir, runId, phase);
  assert.equal((await waitForState(handle, () => true)).phases[phase].status, 'running');
  assert.equal(await activityRuns(h, runId, phase), 1, `${phase}'s first attempt is logged`);
  return pgid;
}

interface Steps {
  /** Resolves once the phase's activity is demonstrably in flight in `worker`; the command's group if any. */
  inFlight(handle: WorkflowHandle, worker: ResultPromise): Promise<number | undefined>;
  /** After the kill: lets the phase go fast again. */
  release(): Promise<void>;
  /** The phase was safe to run again. */
  check(state: RedeployState, handle: WorkflowHandle): Promise<void>;
  cleanup?(): Promise<void>;
}

interface Case {
  phase: Phase;
  /** Attempt lines the killed phase logs: 2, or 1 when the kill came before its log line. */
  runs: number;
  /** Extra worker variables, given a private temp dir (known before the sandbox exists). */
  vars?: (tmp: string) => Record<string, string>;
  /** Makes the phase slow (a fault, a hook, a blocking env file) before the run starts. */
  setup(h: Harness, tmp: string): Promise<Steps>;
  /** Why the case cannot run now (the test runner reports it skipped with this reason). */
  skip?: string;
}

const CASES: Case[] = [
  {
    phase: 'SYNC',
    runs: 2,
    async setup(h) {
      const sha = await h.sb.pushUpstreamCommit('omniclaude');
      await h.sb.setFault('pull-all', { sleepSeconds: 120 });
      return {
        inFlight: (handle) => commandInFlight(h, handle, 'SYNC'),
        release: () => h.sb.clearFault('pull-all'),
        async check() {
          assert.equal(await h.sb.invocations('pull-all'), 2, 'pull-all ran again');
          assert.equal(
            await git(['-C', path.join(h.sb.omniHome, 'omniclaude'), 'rev-parse', 'HEAD'], h.sb.env),
            sha,
            'the re-run pulled what the killed one had not',
          );
        },
      };
    },
  },
  // No ENV_CHECK case: its one slow operation used to be reading the env file, and that read can no
  // longer block (a FIFO or device is refused without being opened for a blocking read, and the read has
  // a 5 s deadline: test/hostile/trust.test.ts). Nothing in it lasts long enough to be killed mid-phase.
  {
    phase: 'WORKTREE',
    runs: 2,
    async setup(h) {
      // A stalled network: origin is a git:// daemon behind a proxy holding WORKTREE's fetch (hooks no
      // longer run, io/git.ts). The first connection, SYNC's pull of the same origin, goes through.
      const origin = await slowInfraOrigin(h.sb, { pass: 1 });
      return {
        async inFlight(handle) {
          await waitForState(handle, (s) => s.phases.WORKTREE.status === 'running', 90_000);
          await origin.waitHeld();
          const pgid = await sleepingGroup(
            h.config.logDir,
            handle.workflowId,
            'WORKTREE',
            60_000,
            HELD_FETCH,
          );
          assert.equal(
            await activityRuns(h, handle.workflowId, 'WORKTREE'),
            1,
            "WORKTREE's first attempt is logged",
          );
          return pgid;
        },
        release: async () => origin.release(),
        async check(state, handle) {
          const ticket = handle.workflowId;
          const wt = path.join(h.sb.worktreeRoot, ticket, 'omnibase_infra');
          assert.equal(state.worktree_path, wt);
          assert.equal(await git(['-C', wt, 'branch', '--show-current'], h.sb.env), ticket);
          const list = await git(
            ['-C', path.join(h.sb.omniHome, 'omnibase_infra'), 'worktree', 'list', '--porcelain'],
            h.sb.env,
          );
          assert.equal(list.split('\n').filter((l) => l === `worktree ${wt}`).length, 1, list);
          // Killed inside the fetch, before `git worktree add`: the re-attempt made it, once.
          assert.doesNotMatch(
            await fs.readFile(path.join(h.config.logDir, ticket, 'WORKTREE.log'), 'utf8'),
            /Reusing existing worktree at /,
          );
        },
        cleanup: () => origin.close(),
      };
    },
  },
  {
    phase: 'PIN_UPDATE',
    runs: 2,
    vars: () => ({ REDEPLOY_PIN_MODE: 'script' }),
    async setup(h) {
      // Killed after the script rewrote the Dockerfile, before its report: the re-attempt re-applies.
      await h.sb.setFault('update-plugin-pins', { sleepAfterWorkSeconds: 120 });
      return {
        async inFlight(handle) {
          const pgid = await commandInFlight(h, handle, 'PIN_UPDATE');
          const wt = path.join(h.sb.worktreeRoot, handle.workflowId, 'omnibase_infra');
          assert.match(
            await fs.readFile(path.join(wt, 'docker/Dockerfile.runtime'), 'utf8'),
            /"omninode-claude==0\.4\.0"/,
            'killed with the change already written',
          );
          return pgid;
        },
        release: () => h.sb.clearFault('update-plugin-pins'),
        async check(state) {
          assert.equal(await h.sb.invocations('update-plugin-pins'), 2);
          const expected = buildDockerfile(
            DEFAULT_PINS.replace(
              '    "omninode-claude>=0.3.0,<0.5.0" \\',
              '    "omninode-claude==0.4.0" \\',
            ).replace('    omniintelligence==0.6.0 \\', '    omniintelligence==0.8.0 \\'),
          );
          assert.notEqual(expected, buildDockerfile(DEFAULT_PINS));
          assert.equal(
            await fs.readFile(path.join(state.worktree_path ?? '', 'docker/Dockerfile.runtime'), 'utf8'),
            expected,
            'the pins as requested, each edited once, nothing else changed',
          );
          assert.deepEqual(state.pins_applied, VERSIONS);
          const deployed = await h.sb.deployedPins();
          assert.deepEqual(
            Object.keys(VERSIONS).map((k) => deployed[k]),
            Object.values(VERSIONS),
          );
        },
      };
    },
  },
  {
    phase: 'INFISICAL',
    runs: 2,
    async setup(h) {
      await h.sb.writeEnvFile({ ...DEFAULT_ENV, ...INFISICAL_TEST_ENV });
      await h.sb.setFault('seed-infisical', { sleepSeconds: 120 });
      return {
        inFlight: (handle) => commandInFlight(h, handle, 'INFISICAL'),
        release: () => h.sb.clearFault('seed-infisical'),
        async check() {
          const runs = await h.sb.invocationArgs('seed-infisical');
          assert.equal(runs.length, 2);
          assert.deepEqual(runs[0], runs[1], 'the same seeding, run again');
        },
      };
    },
  },
  {
    phase: 'VERIFY',
    runs: 2,
    async setup(h) {
      await h.sb.setFault('docker', { sleepSeconds: 120 }); // a slow `docker exec`
      let deployed = '';
      return {
        async inFlight(handle) {
          const pgid = await commandInFlight(h, handle, 'VERIFY');
          deployed = JSON.stringify(await h.sb.deployedPins());
          return pgid;
        },
        release: () => h.sb.clearFault('docker'),
        async check(state) {
          assert.equal(await h.sb.invocations('deploy'), 1, 'VERIFY did not deploy again');
          assert.equal(JSON.stringify(await h.sb.deployedPins()), deployed, 'nothing changed');
          const calls = await h.sb.invocationArgs('docker');
          assert.ok(calls.length >= 2);
          for (const args of calls) {
            assert.deepEqual(args.slice(0, 5), ['exec', 'omninode-runtime', 'uv', 'pip', 'show']);
          }
          const versions = state.phases.VERIFY['versions'] as Record<string, { ok: boolean }>;
          assert.deepEqual(
            Object.keys(VERSIONS).map((k) => versions[k]?.ok),
            [true, true],
          );
        },
      };
    },
  },
];

describe('a worker SIGKILLed during any phase', { concurrency: true }, () => {
  for (const c of CASES) {
    it(
      `${c.phase}: a new worker completes the run; every other phase ran once, ${c.phase} at most twice`,
      { skip: c.skip ?? false },
      async () => {
        const tmp = await fs.mkdtemp(path.join(os.tmpdir(), `redeploy-crash-${c.phase}-`));
        const h = await createHarness(`crash-${c.phase}`, { worker: false, vars: c.vars?.(tmp) ?? {} });
        let steps: Steps | undefined;
        let second: ResultPromise | undefined;
        try {
          steps = await c.setup(h, tmp);
          const first = spawnWorkerProcess(h.vars);
          const handle = await h.start();
          const runId = handle.workflowId;
          const orphan = await steps.inFlight(handle, first);
          first.kill('SIGKILL');
          const killed = await first;
          assert.equal(
            killed.signal,
            'SIGKILL',
            `the first worker died of the kill\n${String(killed.stderr)}`,
          );
          if (orphan !== undefined)
            assert.ok(groupAlive(orphan), 'its command outlived it, as in a real crash');
          await steps.release();

          second = spawnWorkerProcess(h.vars);
          const state = await handle.result();
          assert.equal(state.status, 'completed');
          for (const p of PHASES) {
            const expected =
              p === 'INFISICAL' && c.phase !== 'INFISICAL' ? 'skipped_no_infisical' : 'completed';
            assert.equal(state.phases[p].status, expected, `${p} status`);
          }
          assert.equal(
            await completedAttempt(handle, c.phase),
            2,
            `${c.phase} completed in its second attempt`,
          );
          assert.equal(await activityRuns(h, runId, c.phase), c.runs, `${c.phase} ran at most twice`);
          for (const p of PHASES) {
            if (p !== c.phase) assert.equal(await activityRuns(h, runId, p), 1, `${p} ran once`);
          }
          if (orphan !== undefined) {
            assert.equal(groupAlive(orphan), false, `the killed worker's ${c.phase} command was stopped`);
          }
          await steps.check(state, handle);
        } finally {
          await steps?.cleanup?.();
          if (second) {
            second.kill('SIGTERM');
            await second;
          }
          await h.close();
          await fs.rm(tmp, { recursive: true, force: true });
        }
      },
    );
  }
});
