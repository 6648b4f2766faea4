// The main scenarios against both sandbox profiles: the 2025 scripts the seed was written against, and
// today's omnibase_infra (dev branch, operator env file, compose-required variables, lanes, the
// script's own health check). Every success also checks what was deployed.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decideUpdate } from '../../src/workflows/messages.js';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import type { Phase } from '../../src/core/phases.js';
import { isActive, type RedeployFlags, type RedeployState } from '../../src/core/state.js';
import { TODAY_LANE, type Profile } from '../support/sandbox.js';
import { redeploy } from '../support/cli.js';
import { progress, waitForState, waitingOn, createHarness, type Harness } from '../support/harness.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { withHarness } from '../support/suite.js';

const run = promisify(execFile);

const VERSIONS: Record<Profile, Record<string, string>> = {
  '2025': { 'omninode-claude': '0.4.0', omniintelligence: '0.8.0' },
  // Today the intelligence plugin is omninode-intelligence.
  today: { 'omninode-claude': '0.4.0', 'omninode-intelligence': '0.8.0' },
};

const FLAGS: RedeployFlags = {
  skipSync: false,
  skipDockerfileUpdate: false,
  skipInfisical: true,
  verifyOnly: false,
};

async function gitOut(args: string[], env: Record<string, string>): Promise<string> {
  return (await run('git', args, { env })).stdout.trim();
}

/** The commit DEPLOY deployed (the stand-in writes the worktree's HEAD into the deployment directory). */
async function deployedSha(h: Harness): Promise<string> {
  const [version] = await fs.readdir(h.sb.deployRoot);
  return (await fs.readFile(path.join(h.sb.deployRoot, version as string, 'DEPLOYED_SHA'), 'utf8')).trim();
}

/** What every successful run must have deployed: the requested pins, from the worktree of the chosen ref. */
async function assertDeployed(h: Harness, profile: Profile, state: RedeployState): Promise<void> {
  assert.equal(state.status, 'completed', state.error ?? '');
  const deployed = await h.sb.deployedPins();
  for (const [pkg, version] of Object.entries(VERSIONS[profile])) assert.equal(deployed[pkg], version, pkg);
  const wt = state.worktree_path as string;
  const head = await gitOut(['-C', wt, 'rev-parse', 'HEAD'], h.sb.env);
  assert.equal(await deployedSha(h), head, 'the deployed tree is the worktree');
  const clone = path.join(h.sb.omniHome, 'omnibase_infra');
  const base = await gitOut(['-C', clone, 'rev-parse', `origin/${state.worktree_ref}`], h.sb.env);
  assert.equal(head, base, `the worktree is origin/${state.worktree_ref}`);
}

/** Ends a waiting run (it holds the target, and the next test's run would queue behind it). */
async function abort(handle: WorkflowHandle, phase: Phase): Promise<void> {
  await handle.executeUpdate(decideUpdate, { args: [{ action: 'abort', phase, by: 'test' }] });
  await handle.result().catch(() => undefined);
}

/**
 * The run's final state — or, when it stops to wait for a decision instead, a failure naming the phase
 * and its error (after aborting the run, which holds the target), rather than a hang until the timeout.
 */
async function finished(handle: WorkflowHandle): Promise<RedeployState> {
  for (;;) {
    const s = await waitForState(
      handle,
      (st) => st.status === 'waiting_for_decision' || !isActive(st.status),
      150_000,
    );
    if (s.status !== 'waiting_for_decision') return (await handle.result()) as RedeployState;
    // A decision just sent may not be applied yet: only a wait that is still there a moment later counts.
    await sleep(1500);
    const again = await progress(handle);
    if (
      again.status !== 'waiting_for_decision' ||
      again.pending_decision?.since !== s.pending_decision?.since
    )
      continue;
    const phase = s.pending_decision?.phase as Phase;
    await abort(handle, phase);
    assert.fail(`the run waits for a decision on ${phase}: ${s.pending_decision?.error ?? ''}`);
  }
}

for (const profile of ['2025', 'today'] as const) {
  describe(`omnibase_infra ${profile}: the main scenarios`, { concurrency: 1 }, () => {
    const h = withHarness(`profile-${profile}`, { sandbox: { profile } });
    const versions = VERSIONS[profile];

    it('full run: every phase, the requested pins deployed', async () => {
      const handle = await h.start({ versions, flags: FLAGS });
      const state = await finished(handle);
      await assertDeployed(h, profile, state);
      assert.deepEqual(state.pins_applied, versions);
      const [dockerArgs] = await h.sb.invocationArgs('docker');
      assert.deepEqual(dockerArgs, [
        'exec',
        'omninode-runtime',
        'uv',
        'pip',
        'show',
        ...Object.keys(versions),
      ]);
      assert.deepEqual(Object.keys(state.phases.VERIFY['health'] as object).sort(), [
        'intelligence-api',
        'omninode-contract-resolver',
        'omninode-runtime',
      ]);
      for (const [name, result] of Object.entries(
        state.phases.VERIFY['health'] as Record<string, { url: string }>,
      ))
        assert.equal(result.url, h.sb.health.endpoints[name], `${name} verified at the sandbox's endpoint`);
      const checked = state.phases.ENV_CHECK['checked'] as string[];
      if (profile === 'today') {
        for (const v of ['LINEAR_API_KEY', 'GITHUB_TOKEN', 'INFISICAL_DB_CONNECTION_URI', 'INFRA_HOST'])
          assert.ok(checked.includes(v), `ENV_CHECK checked ${v}: ${checked.join(', ')}`);
        // The env file redeploy read is the one the script sourced; the pins reach its read-back.
        assert.deepEqual(
          (await fs.readFile(path.join(h.sb.root, 'invocations', 'deploy-env-file'), 'utf8')).trim(),
          h.sb.envFile,
        );
        assert.equal(
          (await fs.readFile(path.join(h.sb.root, 'invocations', 'deploy-readback'), 'utf8')).trim(),
          'omninode-claude=0.4.0,omninode-intelligence=0.8.0',
        );
      } else {
        assert.deepEqual(checked, ['POSTGRES_PASSWORD', 'KAFKA_BOOTSTRAP_SERVERS']);
      }
    });

    it('DEPLOY failure → retry; the summary quotes the ERROR line, not the clean-up', async () => {
      await h.sb.setFault('deploy', {
        exitCode: 1,
        message: '[deploy] ERROR: docker compose build failed: runtime image (simulated)',
      });
      const handle = await h.start({ versions, flags: FLAGS });
      const waiting = await waitForState(handle, waitingOn('DEPLOY'));
      const error = String(waiting.phases.DEPLOY['error']);
      assert.match(
        error,
        /deploy-runtime\.sh failed \(exit 1\): \[deploy\] ERROR: docker compose build failed/,
      );
      assert.doesNotMatch(error, /Cleanup complete|restor/i, 'clean-up lines are not the cause');
      const before = await h.sb.invocations('deploy');
      await h.sb.clearFault('deploy');
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase: 'DEPLOY', by: 'test' }] });
      const state = await finished(handle);
      await assertDeployed(h, profile, state);
      const args = await h.sb.invocationArgs('deploy');
      assert.equal(args.length, before + 1);
      assert.ok(args.at(-1)?.includes('--force'));
    });

    it(
      profile === 'today'
        ? 'in-script health failure: reported as a health failure; the script restored the previous deployment'
        : 'unhealthy runtime: the 2025 script only warns, VERIFY names the endpoint',
      async () => {
        h.sb.health.setDown('omninode-runtime');
        try {
          const handle = await h.start({ versions, flags: FLAGS });
          const phase = profile === 'today' ? 'DEPLOY' : 'VERIFY';
          const waiting = await waitForState(handle, waitingOn(phase));
          const rec = waiting.phases[phase];
          if (profile === 'today') {
            assert.equal(rec['error_type'], 'DeployHealthFailed');
            const error = String(rec['error']);
            assert.ok(error.includes(h.sb.health.endpoints['omninode-runtime'] as string), error);
            assert.match(error, /HTTP 503/);
            assert.match(error, /restored the previous deployment/);
            assert.equal((rec['health'] as Record<string, { code: number }>)['runtime']?.code, 503);
          } else {
            assert.deepEqual(rec['failed_health'], ['omninode-runtime']);
          }
          h.sb.health.setUp('omninode-runtime');
          await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase, by: 'test' }] });
          await assertDeployed(h, profile, await finished(handle));
        } finally {
          h.sb.health.setUp('omninode-runtime');
        }
      },
    );

    if (profile === 'today') {
      it('--ref dev: the deployed tree is origin/dev (ahead of main), and the state and provenance say so', async () => {
        const handle = await h.start({ versions, flags: FLAGS, ref: 'dev' });
        const state = await finished(handle);
        await assertDeployed(h, profile, state);
        assert.equal(state.worktree_ref, 'dev');
        assert.equal(await deployedSha(h), h.sb.devHead, 'deployed commit = origin/dev');
        const clone = path.join(h.sb.omniHome, 'omnibase_infra');
        assert.notEqual(h.sb.devHead, await gitOut(['-C', clone, 'rev-parse', 'origin/main'], h.sb.env));
        assert.equal(state.provenance.deployed_commit, h.sb.devHead);
        await fs.access(path.join(state.worktree_path as string, 'DEV_ONLY.md'));
      });

      it("--dry-run shows the lane's endpoints, what DEPLOY needs and what redeploy adds for the script", async () => {
        const vars = { ...h.sb.envVars };
        delete vars['GITHUB_TOKEN'];
        await h.sb.writeEnvFile(vars);
        try {
          const r = await redeploy(
            ['--versions', 'omninode-claude=0.4.0', '--dry-run', '--lane', TODAY_LANE, '--ref', 'dev'],
            h.vars,
          );
          assert.equal(r.exitCode, 0, r.stderr);
          const lane = [`omninode-${TODAY_LANE}-runtime`, `omninode-${TODAY_LANE}-runtime-effects`];
          const urls = lane.map((n) => h.sb.health.endpoints[n]).join(', ');
          assert.ok(r.stdout.includes(`VERIFY:     GET ${urls} (in parallel`), r.stdout);
          assert.match(
            r.stdout,
            new RegExp(`docker exec omninode-${TODAY_LANE}-runtime uv pip show omninode-claude`),
          );
          assert.match(r.stdout, /and what DEPLOY needs \(origin\/dev\): .*LINEAR_API_KEY, GITHUB_TOKEN/);
          assert.match(r.stdout, /WARNING: missing now: GITHUB_TOKEN$/m);
          assert.ok(
            r.stdout.includes(
              `OMNIBASE_OPERATOR_ENV_FILE=${h.sb.envFile} ONEX_DEPLOY_LANE=${TODAY_LANE} OMNIBASE_INFRA_COMPOSE_PROJECT=omnibase-infra-${TODAY_LANE}`,
            ),
            r.stdout,
          );
        } finally {
          await h.sb.writeEnvFile(h.sb.envVars);
        }
      });

      it('a missing compose-required variable fails ENV_CHECK, naming every one; nothing is built', async () => {
        const vars = { ...h.sb.envVars };
        delete vars['LINEAR_API_KEY'];
        delete vars['GITHUB_TOKEN'];
        delete vars['INFRA_HOST'];
        delete vars['HEALTH_CHECK_URL'];
        await h.sb.writeEnvFile(vars);
        try {
          const deploys = await h.sb.invocations('deploy');
          const handle = await h.start({ versions, flags: FLAGS });
          const waiting = await waitForState(handle, waitingOn('ENV_CHECK'));
          const error = String(waiting.phases.ENV_CHECK['error']);
          assert.match(
            error,
            /LINEAR_API_KEY not set \(docker\/docker-compose\.infra\.yml: LINEAR_API_KEY must be set\)/,
          );
          assert.match(error, /GITHUB_TOKEN not set/);
          assert.match(error, /INFRA_HOST not set \(.*HEALTH_CHECK_URL/);
          assert.equal(waiting.phases.ENV_CHECK['missing'], 'LINEAR_API_KEY, GITHUB_TOKEN, INFRA_HOST');
          assert.equal(waiting.phases.WORKTREE.status, 'pending', 'no worktree');
          assert.equal(await h.sb.invocations('deploy'), deploys, 'deploy-runtime.sh never ran');
          await abort(handle, 'ENV_CHECK');
        } finally {
          await h.sb.writeEnvFile(h.sb.envVars);
        }
      });

      it('exit 64 is a named precondition failure quoting the script, not retried', async () => {
        await h.sb.setFault('deploy', {
          exitCode: 64,
          message: '[deploy] ERROR: BUILD_SOURCE=release does not match the workspace (simulated)',
        });
        try {
          const deploys = await h.sb.invocations('deploy');
          const handle = await h.start({ versions, flags: FLAGS });
          const waiting = await waitForState(handle, waitingOn('DEPLOY'));
          assert.equal(waiting.phases.DEPLOY['error_type'], 'DeployPrecondition');
          assert.match(
            String(waiting.phases.DEPLOY['error']),
            /exit 64.*BUILD_SOURCE=release does not match/s,
          );
          assert.equal(await h.sb.invocations('deploy'), deploys + 1, 'not retried automatically');
          await abort(handle, 'DEPLOY');
        } finally {
          await h.sb.clearFault('deploy');
        }
      });

      it(`lane ${TODAY_LANE}: the lane's containers and endpoints are deployed and verified`, async () => {
        const vars = { ...h.sb.envVars };
        delete vars['HEALTH_CHECK_URL']; // so the script's own check is pointed at the lane by redeploy
        await h.sb.writeEnvFile(vars);
        try {
          const devRequests = h.sb.health.requests('omninode-runtime');
          const handle = await h.start({ versions, flags: { ...FLAGS, lane: TODAY_LANE } });
          const state = await finished(handle);
          await assertDeployed(h, profile, state);
          const lane = [`omninode-${TODAY_LANE}-runtime`, `omninode-${TODAY_LANE}-runtime-effects`];
          const health = state.phases.VERIFY['health'] as Record<string, { url: string }>;
          assert.deepEqual(Object.keys(health).sort(), lane);
          for (const name of lane) {
            assert.equal(health[name]?.url, h.sb.health.endpoints[name]);
            assert.ok(h.sb.health.requests(name) > 0, `${name} was asked`);
          }
          assert.equal(h.sb.health.requests('omninode-runtime'), devRequests, 'the dev lane was not probed');
          const container = (await fs.readFile(path.join(h.sb.root, 'deployed-container'), 'utf8')).trim();
          assert.equal(container, `omninode-${TODAY_LANE}-runtime`, 'the script deployed the lane');
          const docker = await h.sb.invocationArgs('docker');
          assert.equal(docker.at(-1)?.[1], `omninode-${TODAY_LANE}-runtime`);
          assert.equal(state.phases.DEPLOY['compose_project'], `omnibase-infra-${TODAY_LANE}`);
        } finally {
          await h.sb.writeEnvFile(h.sb.envVars);
        }
      });
    } else {
      it('--lane on the 2025 scripts: ENV_CHECK refuses, nothing is built', async () => {
        const deploys = await h.sb.invocations('deploy');
        const handle = await h.start({ versions, flags: { ...FLAGS, lane: TODAY_LANE } });
        const waiting = await waitForState(handle, waitingOn('ENV_CHECK'));
        assert.equal(waiting.phases.ENV_CHECK['error_type'], 'UnknownLane');
        assert.match(String(waiting.phases.ENV_CHECK['error']), /no docker\/runtime-policy\.env/);
        assert.equal(await h.sb.invocations('deploy'), deploys);
        await abort(handle, 'ENV_CHECK');
      });
    }
  });

  describe(`omnibase_infra ${profile}: a non-default env file reaches the deploy script`, () => {
    let h: Harness;
    let dir: string;
    let altEnv: string;
    const versions = VERSIONS[profile];
    before(async () => {
      dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-altenv-'));
      altEnv = path.join(dir, 'operator.env');
      h = await createHarness(`altenv-${profile}`, {
        sandbox: { profile },
        vars: { REDEPLOY_ENV_FILE: altEnv },
      });
    });
    after(async () => {
      await h.close();
      await fs.rm(dir, { recursive: true, force: true });
    });

    it('deploys with the variables of that file, and tells the script which file it is', async () => {
      const lines = Object.entries({ ...h.sb.envVars, SANDBOX_MARKER: 'from-the-alt-file' }).map(
        ([k, v]) => `${k}=${JSON.stringify(v)}`,
      );
      await fs.writeFile(altEnv, `${lines.join('\n')}\n`, { mode: 0o600 });
      // The default file is gone: today's script would exit 64 (OPERATOR_ENV_MISSING) if not told.
      await fs.rm(h.sb.envFile);
      await h.sb.setFault('deploy', { printEnv: ['OMNIBASE_OPERATOR_ENV_FILE', 'SANDBOX_MARKER'] });
      const handle = await h.start({ versions, flags: FLAGS });
      const state = await finished(handle);
      await assertDeployed(h, profile, state);
      const log = await fs.readFile(path.join(h.config.logDir, state.run_id, 'DEPLOY.log'), 'utf8');
      assert.match(log, new RegExp(`^OMNIBASE_OPERATOR_ENV_FILE=${altEnv}$`, 'm'));
      assert.match(log, /^SANDBOX_MARKER=from-the-alt-file$/m);
    });
  });
}
