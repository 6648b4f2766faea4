// The prod lane of today's omnibase_infra (CONTRACTS.md, "Today's release flow"): its deploy script
// (the sandbox stand-in) runs the promotion-lineage guard — clean tree, untracked files included, HEAD
// on origin/main — and stamps the image's revision label, which the docker stand-in's `inspect`
// answers. Ranges on main resolve against the sandbox's index. Runs on the real dev server; every
// success checks the tree, the pins and the image revision deployed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { WorkflowHandle } from '@temporalio/client';
import type { RedeployFlags, RedeployState } from '../../src/core/state.js';
import { decideUpdate } from '../../src/workflows/messages.js';
import { redeploy } from '../support/cli.js';
import { progress, waitForState, waitingOn, type Harness } from '../support/harness.js';
import { PROD_LANE, TODAY_LANE, TODAY_PINS, buildDockerfile } from '../support/sandbox.js';
import { withHarness } from '../support/suite.js';

const run = promisify(execFile);
const VERSIONS = { 'omninode-claude': '0.4.0', 'omninode-intelligence': '0.8.0' };
const ARGS = ['--versions', 'omninode-claude=0.4.0,omninode-intelligence=0.8.0', '--skip-infisical'];
// What the index has: each requested version is the newest its range admits (a rebuild installs it).
const INDEX = {
  'omninode-claude': ['0.3.0', '0.4.0', '0.6.0'],
  'omninode-intelligence': ['0.6.0', '0.8.0'],
  'omninode-memory': ['1.0.0'],
};
const FLAGS: RedeployFlags = {
  skipSync: false,
  skipDockerfileUpdate: false,
  skipInfisical: true,
  verifyOnly: false,
};
const PROD: RedeployFlags = { ...FLAGS, lane: PROD_LANE, pinPolicy: 'admit' };

async function gitOut(h: Harness, args: string[]): Promise<string> {
  return (await run('git', args, { env: h.sb.env })).stdout.trim();
}

const runIdOf = (stdout: string): string => /redeploy-\d{8}-[0-9a-f]{6}/.exec(stdout)?.[0] ?? '';

/** What a completed prod run must have deployed: origin/main untouched, the versions, the image revision. */
async function assertProdDeployed(h: Harness, state: RedeployState): Promise<void> {
  assert.equal(state.status, 'completed', state.error ?? '');
  assert.equal(state.flags.lane, PROD_LANE);
  assert.equal(state.flags.pinPolicy, 'admit');
  const wt = state.worktree_path as string;
  const head = await gitOut(h, ['-C', wt, 'rev-parse', 'HEAD']);
  const main = await gitOut(h, [
    '-C',
    path.join(h.sb.omniHome, 'omnibase_infra'),
    'rev-parse',
    'origin/main',
  ]);
  assert.equal(head, main, 'the worktree is origin/main');
  assert.equal(await gitOut(h, ['-C', wt, 'status', '--porcelain', '--untracked-files=all']), '', 'clean');
  const [version] = await fs.readdir(h.sb.deployRoot);
  const built = await fs.readFile(path.join(h.sb.deployRoot, version as string, 'DEPLOYED_SHA'), 'utf8');
  assert.equal(built.trim(), head, 'the deployed tree is origin/main');
  // The Dockerfile built is main's, ranges and all: nothing was edited.
  const deployedDockerfile = path.join(h.sb.deployRoot, version as string, 'docker', 'Dockerfile.runtime');
  assert.equal(
    await fs.readFile(deployedDockerfile, 'utf8'),
    buildDockerfile(TODAY_PINS, 'RUN uv-with-retry pip install --no-deps \\'),
  );
  const deployed = await h.sb.deployedPins();
  for (const [pkg, v] of Object.entries(VERSIONS)) assert.equal(deployed[pkg], v, pkg);
  assert.equal(await h.sb.deployedRevision(), head.slice(0, 12), 'the image carries the commit');
  const proof = state.phases.VERIFY['image_revision'] as { label: string; expected: string; ok: boolean };
  assert.deepEqual(proof, {
    container: 'omninode-prod-runtime',
    label: head.slice(0, 12),
    expected: head,
    ok: true,
  });
  assert.equal(state.provenance.image_revision, head.slice(0, 12));
  assert.equal(state.provenance.deployed_commit, head);
  for (const [pkg, change] of Object.entries(
    state.phases.PIN_UPDATE['pins_applied'] as Record<string, { action: string; to: string }>,
  ))
    assert.deepEqual(
      [pkg, change.action, change.to],
      [pkg, 'admitted', VERSIONS[pkg as keyof typeof VERSIONS]],
    );
}

async function abort(handle: WorkflowHandle, phase: string): Promise<void> {
  await handle.executeUpdate(decideUpdate, {
    args: [{ action: 'abort', phase: phase as 'DEPLOY', by: 'test' }],
  });
  await handle.result().catch(() => undefined);
}

describe('today: the prod lane — promoted main, admitted pins, a proven image', { concurrency: 1 }, () => {
  const h = withHarness('prod', { sandbox: { profile: 'today', index: INDEX } });
  // Without HEALTH_CHECK_URL in the env file, redeploy points the script's own check at the prod runtime.
  const prodEnv = async () => {
    const vars = { ...h.sb.envVars };
    delete vars['HEALTH_CHECK_URL'];
    await h.sb.writeEnvFile(vars);
  };

  it('admitted versions: the run completes, the worktree is clean at origin/main, VERIFY proved the revision', async () => {
    await prodEnv();
    const r = await redeploy([...ARGS, '--lane', PROD_LANE], h.vars);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    const handle = h.client.workflow.getHandle(runIdOf(r.stdout));
    const state = (await handle.result()) as RedeployState;
    await assertProdDeployed(h, state);
    const log = await fs.readFile(path.join(h.config.logDir, state.run_id, 'DEPLOY.log'), 'utf8');
    assert.match(log, /Prod promotion-lineage guard passed/, 'the script ran its guard and it passed');
    const report = await redeploy(['report', state.run_id], h.vars);
    assert.match(report.stdout, /Lane prod, pin policy admit\./);
    assert.match(
      report.stdout,
      new RegExp(
        `Image revision \\(org.opencontainers.image.revision\\): ${state.provenance.image_revision}`,
      ),
    );
  });

  it('a version outside the range: PIN_UPDATE fails naming package, version, specifier and the automation branch; nothing built', async () => {
    await h.sb.pushBranch('automation/pin-omninode-claude-v0.6.0');
    const deploys = await h.sb.invocations('deploy');
    const handle = await h.start({ versions: { 'omninode-claude': '0.6.0' }, flags: PROD });
    const waiting = await waitForState(handle, waitingOn('PIN_UPDATE'));
    const rec = waiting.phases.PIN_UPDATE;
    assert.equal(rec['error_type'], 'PinNotAdmitted');
    const error = String(rec['error']);
    assert.match(
      error,
      /omninode-claude 0\.6\.0 is not admitted by origin\/main's specifier ">=0\.3\.0,<0\.5\.0"/,
    );
    assert.match(error, /origin has automation\/pin-omninode-claude-v0\.6\.0: merge it to main/);
    assert.equal(await h.sb.invocations('deploy'), deploys, 'deploy-runtime.sh never ran');
    const wt = waiting.worktree_path as string;
    assert.equal(
      await gitOut(h, ['-C', wt, 'status', '--porcelain', '--untracked-files=all']),
      '',
      'nothing edited',
    );
    await abort(handle, 'PIN_UPDATE');
  });

  it('refused before a run starts (exit 2): --ref dev on prod, --pin-policy edit on prod', async () => {
    const before = await fs.readdir(h.sb.stateDir);
    const ref = await redeploy([...ARGS, '--lane', PROD_LANE, '--ref', 'dev'], h.vars);
    assert.equal(ref.exitCode, 2, ref.stderr);
    assert.match(ref.stderr, /--ref dev on lane prod: the prod lane builds only promoted main/);
    const edit = await redeploy([...ARGS, '--lane', PROD_LANE, '--pin-policy', 'edit'], h.vars);
    assert.equal(edit.exitCode, 2, edit.stderr);
    assert.match(edit.stderr, /--pin-policy edit on lane prod: .*Use --pin-policy admit/);
    const env = await redeploy([...ARGS, '--lane', PROD_LANE], { ...h.vars, REDEPLOY_PIN_POLICY: 'edit' });
    assert.equal(env.exitCode, 2, env.stderr);
    assert.match(env.stderr, /REDEPLOY_PIN_POLICY edit on lane prod/);
    assert.deepEqual(await fs.readdir(h.sb.stateDir), before, 'no run started');
  });

  it('--dry-run prints the verdict for every package, admitted or not, with no server', async () => {
    const vars = { ...h.vars, TEMPORAL_ADDRESS: '127.0.0.1:1' }; // nothing listens there
    const ok = await redeploy([...ARGS, '--lane', PROD_LANE, '--dry-run'], vars);
    assert.equal(ok.exitCode, 0, ok.stderr);
    assert.match(ok.stdout, /^Pin policy admit on lane prod /m);
    assert.match(ok.stdout, /omninode-claude: >=0\.3\.0,<0\.5\.0 admits 0\.4\.0 \(admitted/);
    assert.match(ok.stdout, /omninode-intelligence: >=0\.6\.0,<1\.0\.0 admits 0\.8\.0 \(admitted/);
    assert.doesNotMatch(ok.stdout, /^\+/m, 'no pin diff: nothing is edited');
    const bad = await redeploy(
      ['--versions', 'omninode-claude=0.6.0,omninode-intelligence=0.8.0', '--lane', PROD_LANE, '--dry-run'],
      vars,
    );
    assert.equal(bad.exitCode, 0, bad.stderr);
    assert.match(bad.stdout, /omninode-claude: >=0\.3\.0,<0\.5\.0 does not admit 0\.6\.0 \(refused\)/);
    assert.match(bad.stdout, /PIN_UPDATE would fail: omninode-claude 0\.6\.0 is not admitted/);
  });

  it("a range resolved to another release than requested: the script's read-back fails DEPLOY; VERIFY says which release runs", async () => {
    await prodEnv();
    const index = path.join(h.sb.root, 'index.json');
    await fs.writeFile(index, JSON.stringify({ ...INDEX, 'omninode-claude': ['0.4.0', '0.4.1'] }));
    const handle = await h.start({ versions: VERSIONS, flags: PROD });
    try {
      // The rebuild of main installs 0.4.1 (the newest the range admits): the script's read-back fails closed.
      const deploy = await waitForState(handle, waitingOn('DEPLOY'), 120_000);
      assert.match(String(deploy.phases.DEPLOY['error']), /readback FAILED/i);
      // The operator skips to VERIFY to see what runs: the message names the range and the release.
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'skip', phase: 'DEPLOY', by: 'test' }] });
      const waiting = await waitForState(handle, waitingOn('VERIFY'), 120_000);
      assert.match(
        String(waiting.phases.VERIFY['error']),
        /omninode-claude: `>=0\.3\.0,<0\.5\.0` resolved to 0\.4\.1, not the requested 0\.4\.0/,
      );
      assert.equal(
        (waiting.phases.VERIFY['image_revision'] as { ok: boolean }).ok,
        true,
        'the image is main',
      );
    } finally {
      await fs.writeFile(index, JSON.stringify(INDEX));
      await abort(handle, 'VERIFY').catch(() => handle.terminate().catch(() => undefined));
    }
  });

  it('a resumed prod run keeps its lane and policy; the report shows both', async () => {
    await prodEnv();
    await h.sb.setFault('deploy', { exitCode: 1, message: '[deploy] ERROR: simulated build failure' });
    const handle = await h.start({ versions: VERSIONS, flags: PROD });
    const waiting = await waitForState(handle, waitingOn('DEPLOY'));
    await abort(handle, 'DEPLOY');
    await h.sb.clearFault('deploy');
    const r = await redeploy(['--resume', waiting.run_id], h.vars);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    const state = await progress(h.client.workflow.getHandle(waiting.run_id));
    await assertProdDeployed(h, state);
    const report = await redeploy(['report', waiting.run_id], h.vars);
    assert.match(report.stdout, /Lane prod, pin policy admit\./);
  });

  it('dev lane, edit over a range: the state shows range → ==version, and the rollback restores the range byte for byte', async () => {
    await h.sb.writeEnvFile(h.sb.envVars);
    const dry = await redeploy([...ARGS, '--dry-run'], h.vars);
    assert.match(dry.stdout, /^Pin policy edit on lane dev:$/m);
    assert.match(dry.stdout, /omninode-claude: >=0\.3\.0,<0\.5\.0 → ==0\.4\.0 \(edited in the worktree\)/);
    // VERIFY's version read fails (docker exec), so --rollback-on-failure restores origin's ranges.
    await h.sb.setFault('docker', { exitCode: 1, message: 'simulated: docker exec failed' });
    try {
      const handle = await h.start({
        versions: VERSIONS,
        flags: { ...FLAGS, pinPolicy: 'edit', rollbackOnFailure: true },
      });
      await handle.result().catch(() => undefined);
      const state = await progress(handle);
      assert.equal(state.status, 'rolled_back', state.error ?? '');
      const applied = state.phases.PIN_UPDATE['pins_applied'] ?? {};
      assert.deepEqual(applied['omninode-claude'], {
        from: '>=0.3.0,<0.5.0',
        from_raw: '>=0.3.0,<0.5.0',
        from_raw_hits: ['>=0.3.0,<0.5.0'],
        to: '0.4.0',
        matched: true,
        action: 'edited',
      });
      const wt = state.worktree_path as string;
      const origin = await gitOut(h, ['-C', wt, 'show', 'HEAD:docker/Dockerfile.runtime']);
      const now = await fs.readFile(path.join(wt, 'docker', 'Dockerfile.runtime'), 'utf8');
      assert.equal(now.trimEnd(), origin, "the worktree holds origin's Dockerfile again");
      assert.equal(
        now,
        buildDockerfile(TODAY_PINS, 'RUN uv-with-retry pip install --no-deps \\'),
        'byte for byte',
      );
      const [version] = await fs.readdir(h.sb.deployRoot);
      assert.equal(
        await fs.readFile(
          path.join(h.sb.deployRoot, version as string, 'docker', 'Dockerfile.runtime'),
          'utf8',
        ),
        now,
        'the rollback redeployed the ranges',
      );
    } finally {
      await h.sb.clearFault('docker');
    }
  });

  it('--require-proven: refused without a proving run, accepted after one; the proving run in the provenance', async () => {
    await prodEnv();
    const before = await fs.readdir(h.sb.stateDir);
    const main = await gitOut(h, [
      '-C',
      path.join(h.sb.omniHome, 'omnibase_infra'),
      'rev-parse',
      'origin/main',
    ]);
    const gated = [...ARGS, '--lane', PROD_LANE, '--require-proven', TODAY_LANE];
    const refused = await redeploy(gated, h.vars);
    assert.equal(refused.exitCode, 1, refused.stderr);
    assert.match(
      refused.stderr,
      new RegExp(
        `no completed redeploy on lane ${TODAY_LANE} deployed origin/main @ ${main.slice(0, 12)} and verified omninode-claude==0\\.4\\.0, omninode-intelligence==0\\.8\\.0`,
      ),
    );
    assert.deepEqual(await fs.readdir(h.sb.stateDir), before, 'nothing started');
    // The env var opts the prod lane in the same way.
    const byEnv = await redeploy([...ARGS, '--lane', PROD_LANE], {
      ...h.vars,
      REDEPLOY_REQUIRE_PROVEN: TODAY_LANE,
    });
    assert.equal(byEnv.exitCode, 1, byEnv.stderr);
    const proving = await redeploy([...ARGS, '--lane', TODAY_LANE], h.vars);
    assert.equal(proving.exitCode, 0, `${proving.stdout}\n${proving.stderr}`);
    const provingId = runIdOf(proving.stdout);
    const r = await redeploy(gated, h.vars);
    assert.equal(r.exitCode, 0, `${r.stdout}\n${r.stderr}`);
    assert.match(r.stdout, new RegExp(`proven on ${TODAY_LANE} by ${provingId}`));
    const state = (await h.client.workflow
      .getHandle(runIdOf(r.stdout.replace(provingId, '')))
      .result()) as RedeployState;
    await assertProdDeployed(h, state);
    assert.equal(state.provenance.proven_by, provingId);
    // Kept in the state: a --resume of this run carries the proof, so DEPLOY still refuses another commit.
    assert.deepEqual(state.proven, { lane: TODAY_LANE, run_id: provingId, commit: main });
    const badEnv = await redeploy([...ARGS, '--lane', PROD_LANE], {
      ...h.vars,
      REDEPLOY_REQUIRE_PROVEN: 'Prod!',
    });
    assert.equal(badEnv.exitCode, 2, badEnv.stderr);
    assert.match(badEnv.stderr, /REDEPLOY_REQUIRE_PROVEN "Prod!" is not a lane name/);
    const report = await redeploy(['report', state.run_id], h.vars);
    assert.match(report.stdout, new RegExp(`Proven by: ${provingId}`));
  });
});
