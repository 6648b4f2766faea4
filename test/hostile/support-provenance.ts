// Shared checks of the hostile-world suites: what was deployed, and that nothing planted ran.
import assert from 'node:assert/strict';
import { decideUpdate } from '../../src/workflows/messages.js';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { WorkflowHandle } from '@temporalio/client';
import { execa } from 'execa';
import { rewritePins } from '../../src/core/pins.js';
import type { Phase } from '../../src/core/phases.js';
import type { DecisionAction, RedeployState } from '../../src/core/state.js';
import type { Versions } from '../../src/core/versions.js';
import { waitForState, type Harness } from '../support/harness.js';

/** Every phase but SYNC (pull-all adds nothing to these cases but time). */
export const FLAGS = { skipSync: true, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false };

export async function git(h: Harness, args: string[], cwd: string): Promise<string> {
  return (await execa('git', args, { cwd, env: h.sb.env })).stdout.trim();
}

export const infraClone = (h: Harness) => path.join(h.sb.omniHome, 'omnibase_infra');
export const worktreeOf = (h: Harness, ticket: string) =>
  path.join(h.sb.worktreeRoot, ticket, 'omnibase_infra');

/** origin's `main` as the bare origin repository has it (not what any clone thinks). */
export async function originMain(h: Harness): Promise<string> {
  return git(h, ['rev-parse', 'main'], path.join(h.sb.originsDir, 'omnibase_infra.git'));
}

/**
 * The deployed tree is origin's commit plus the requested pins, nothing else: the worktree's HEAD is
 * that commit, its only change is the Dockerfile, and the Dockerfile the deploy script copied is
 * exactly origin's with the pins rewritten.
 */
export async function assertDeployed(
  h: Harness,
  state: RedeployState,
  commit: string,
  versions: Versions,
): Promise<void> {
  const wt = state.worktree_path ?? '';
  assert.equal(await git(h, ['rev-parse', 'HEAD'], wt), commit, 'worktree HEAD is origin/<ref>');
  assert.equal(state.provenance.base_commit, commit);
  assert.equal(state.provenance.deployed_commit, commit);
  const status = (await execa('git', ['status', '--porcelain', '--untracked-files=all'], { cwd: wt })).stdout;
  assert.deepEqual(
    status.split('\n').filter(Boolean),
    Object.keys(versions).length ? [' M docker/Dockerfile.runtime'] : [],
    'no change in the worktree but the pins',
  );
  const base = (
    await execa('git', ['show', `${commit}:docker/Dockerfile.runtime`], { cwd: wt, stripFinalNewline: false })
  ).stdout;
  const expected = rewritePins(base, versions).text;
  const deployed = await fs.readFile(
    path.join(h.sb.deployRoot, '0.9.0', 'docker', 'Dockerfile.runtime'),
    'utf8',
  );
  assert.equal(deployed, expected, "the deployed Dockerfile is origin's plus the requested pins");
  assert.equal(state.provenance.deploy_script, path.join(wt, 'scripts', 'deploy-runtime.sh'));
  assert.match(state.provenance.dockerfile_sha256 ?? '', /^[0-9a-f]{64}$/);
}

/** The sandbox's secret appears nowhere a run writes: its history, its logs, the state dir. */
export async function assertNoSecretLeak(h: Harness, handle: WorkflowHandle, secret: string): Promise<void> {
  const history = JSON.stringify(await handle.fetchHistory());
  assert.ok(!history.includes(secret), 'no secret in the history');
  const walk = async (d: string): Promise<string[]> => {
    const out: string[] = [];
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) out.push(...(await walk(p)));
      else if (e.isFile()) out.push(p);
    }
    return out;
  };
  for (const file of [...(await walk(h.sb.stateDir)), ...(await walk(h.config.logDir))]) {
    assert.ok(!(await fs.readFile(file, 'utf8')).includes(secret), `no secret in ${file}`);
  }
}

/**
 * The run's end, for a run expected to complete: fails at once (with the phase's error) when it waits
 * for a decision instead, rather than waiting out the decision timeout.
 */
export async function completed(
  handle: WorkflowHandle,
  opts: { decisions?: number } = {},
): Promise<RedeployState> {
  // After a decision, the state may still show the wait it answered until the run moves on: a wait
  // counts only once it comes after every decision already made.
  const s = await waitForState(
    handle,
    (x) =>
      x.finished_at !== null ||
      (x.status === 'waiting_for_decision' && x.decisions.length >= (opts.decisions ?? 0)),
    120_000,
  );
  if (s.status === 'waiting_for_decision')
    assert.fail(`${s.pending_decision?.phase} failed: ${s.pending_decision?.error}`);
  return await handle.result();
}

/** A run whose first DEPLOY failed (the deploy stand-in exits 1 once), waiting for a decision. */
export async function waitingInDeploy(
  h: Harness,
  overrides: Parameters<Harness['start']>[0],
): Promise<WorkflowHandle> {
  await h.sb.setFault('deploy', { exitCode: 1, message: 'build failed' });
  const handle = await h.start(overrides);
  try {
    await waitForState(
      handle,
      (s) => s.status === 'waiting_for_decision' && s.pending_decision?.phase === 'DEPLOY',
    );
  } finally {
    await h.sb.clearFault('deploy');
  }
  return handle;
}

/** A script that, if anything ever runs it, leaves a marker file. */
export async function plantScript(file: string, marker: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/usr/bin/env bash\necho planted > '${marker}'\nexit 0\n`, { mode: 0o755 });
  await fs.chmod(file, 0o755);
}

export async function exists(p: string): Promise<boolean> {
  return fs.lstat(p).then(
    () => true,
    () => false,
  );
}

export async function decide(handle: WorkflowHandle, phase: Phase, action: DecisionAction) {
  await handle.executeUpdate(decideUpdate, { args: [{ action, phase, by: 'hostile-test' }] });
}

/** Ends a run that waits for a decision, so the next one gets the target. */
export async function abortRun(handle: WorkflowHandle, phase: Phase): Promise<void> {
  await decide(handle, phase, 'abort');
  await handle.result().catch(() => undefined);
}

/** No temporary file left behind anywhere under `dir`. */
export async function assertNoTempFiles(dir: string): Promise<void> {
  const found: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await fs.readdir(d, { withFileTypes: true }).catch(() => [])) {
      const p = path.join(d, e.name);
      if (/\.tmp(\.|$)|\.tmp-/.test(e.name)) found.push(p);
      if (e.isDirectory() && e.name !== '.git') await walk(p);
    }
  };
  await walk(dir);
  assert.deepEqual(found, [], 'no temporary files');
}
