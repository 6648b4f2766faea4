// A full state dir (issue 10, item 6): a real 256 KiB tmpfs as the state dir, filled with dd, so writes fail
// with ENOSPC as on a full disk. The CLI must leave no temp file and say what the run is and how to re-attach.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { PROG_RE, redeploy } from '../support/cli.js';
import { createHarness, type Harness } from '../support/harness.js';

const runIdOf = (stdout: string) => /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — /.exec(stdout)?.[1] ?? '';

/** Every file under dir, recursively (relative paths). */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await fs.readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(dir, path.join(e.parentPath, e.name)));
}

/** Fills the filesystem: dd stops at ENOSPC. */
const fill = (dir: string) =>
  execa('dd', ['if=/dev/zero', `of=${path.join(dir, 'filler')}`, 'bs=4k'], { reject: false });

describe('disk full in the state dir', { concurrency: 1 }, () => {
  let h: Harness;
  let mount: string;
  let mounted = false;
  let logs: string;
  before(async () => {
    mount = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-full-'));
    // A real small filesystem (root only; CI runs as root): writes fail with ENOSPC, as on a full disk.
    mounted =
      (await execa('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', mount], { reject: false }))
        .exitCode === 0;
    // The phase logs outside it: this is about the state dir (the CLI's and the worker's mirror).
    logs = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-full-logs-'));
    h = await createHarness('hostile-full', { vars: { REDEPLOY_STATE_DIR: mount, REDEPLOY_LOG_DIR: logs } });
  });
  after(async () => {
    await h.close();
    if (mounted) await execa('umount', [mount], { reject: false });
    await fs.rm(mount, { recursive: true, force: true });
    await fs.rm(logs, { recursive: true, force: true });
  });

  it('the CLI says the run goes on and how to re-attach (exit 74), leaves no temp file; watch finishes it', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    await fill(mount);
    await h.sb.setFault('deploy', { sleepSeconds: 2 });
    const r = await redeploy(['--versions', 'omninode-claude=0.4.0', '--skip-infisical'], h.vars);
    await h.sb.clearFault('deploy');
    await fs.rm(path.join(mount, 'filler')).catch(() => undefined);
    const id = runIdOf(r.stdout);
    assert.equal(r.exitCode, 74, r.stdout + r.stderr);
    assert.match(
      r.stderr,
      new RegExp(
        `could not write ${mount}/${id}\\.json \\(ENOSPC: no space left on device\\); no temporary file was left`,
      ),
    );
    assert.match(
      r.stderr,
      new RegExp(`The run ${id} is running(?: in [A-Z_]+)? and goes on without this CLI following it`),
    );
    assert.match(r.stderr, new RegExp(`${PROG_RE} status ${id} .* ${PROG_RE} watch ${id} \\(re-attaches\\)`));
    // The phase logs are in REDEPLOY_LOG_DIR, outside: everything here is the state file's.
    const mine = async () => filesUnder(mount);
    // The worker mirrors the run too (a sink) and may write the file as soon as the filler is gone: a file
    // there now is the worker's, and whole (rename is atomic). Leftover temp files are checked below, once
    // every writer is idle.
    if ((await mine()).includes(`${id}.json`)) {
      const text = await fs.readFile(path.join(mount, `${id}.json`), 'utf8');
      assert.doesNotThrow(() => JSON.parse(text), 'the state file there is whole');
    }

    const w = await redeploy(['watch', id], h.vars);
    assert.equal(w.exitCode, 0, w.stdout + w.stderr);
    const state = JSON.parse(await fs.readFile(path.join(mount, `${id}.json`), 'utf8')) as { status: string };
    assert.equal(state.status, 'completed');
    assert.equal((await h.sb.deployedPins())['omninode-claude'], '0.4.0', 'what was deployed');
    assert.deepEqual(await mine(), [`${id}.json`]);
  });

  it('a run that ends while the disk is full: its own exit code, and the message says the file is stale', async (t) => {
    if (!mounted) return t.skip('mount -t tmpfs is not permitted here');
    // Full before the run starts: the worker's own mirror (issue 20) cannot write it either, so the file
    // stays behind the run. The phase logs are elsewhere (REDEPLOY_LOG_DIR), so the run itself completes.
    await fill(mount);
    const handle = await h.start({
      versions: { 'omninode-claude': '0.4.0' },
      flags: { skipSync: true, skipDockerfileUpdate: false, skipInfisical: true, verifyOnly: false },
    });
    await handle.result();
    assert.equal((await h.sb.deployedPins())['omninode-claude'], '0.4.0', 'what was deployed');
    try {
      const r = await redeploy(['status', handle.workflowId], h.vars);
      assert.equal(r.exitCode, 0, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        new RegExp(`The run ${handle.workflowId} is completed; that file does not say so yet`),
      );
      assert.ok(!(await filesUnder(mount)).some((f) => f.endsWith('.tmp')), 'no temp file');
    } finally {
      await fs.rm(path.join(mount, 'filler'));
    }
  });
});
