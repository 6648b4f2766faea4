import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { cacheDir, findTemporalCli, TemporalCliMissing } from '../../src/io/temporal-cli.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-cli-'));
}

async function fakeBinary(file: string): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, '#!/bin/sh\necho fake\n', { mode: 0o755 });
}

describe('finding the Temporal CLI', () => {
  it('prefers TEMPORAL_CLI, then PATH, then the cache', async () => {
    const dir = await tempDir();
    const explicit = path.join(dir, 'explicit/temporal');
    const onPath = path.join(dir, 'bin/temporal');
    const cached = path.join(cacheDir({ XDG_CACHE_HOME: path.join(dir, 'cache') }), 'temporal');
    await Promise.all([fakeBinary(explicit), fakeBinary(onPath), fakeBinary(cached)]);
    const env = { PATH: path.join(dir, 'bin'), XDG_CACHE_HOME: path.join(dir, 'cache') };
    assert.equal(await findTemporalCli({ env: { ...env, TEMPORAL_CLI: explicit } }), explicit);
    assert.equal(await findTemporalCli({ env }), onPath);
    assert.equal(await findTemporalCli({ env: { ...env, PATH: '/nonexistent' } }), cached);
    assert.equal(cached, path.join(dir, 'cache/redeploy/temporal-cli/v1.5.1/temporal'));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('with no binary and no Go, names the three ways to provide one', async () => {
    const dir = await tempDir();
    await assert.rejects(
      findTemporalCli({ env: { PATH: path.join(dir, 'empty'), XDG_CACHE_HOME: dir }, log: () => {} }),
      (err: unknown) => {
        assert.ok(err instanceof TemporalCliMissing);
        assert.match(err.message, /no Go toolchain to build it/);
        assert.match(err.message, /1\. TEMPORAL_CLI=\/path\/to\/temporal/);
        assert.match(err.message, /2\. a `temporal` binary on PATH/);
        assert.ok(
          err.message.includes(
            `3. Go ≥ 1.23 on PATH, and redeploy builds github.com/temporalio/cli/cmd/temporal@v1.5.1 into ${dir}/redeploy/temporal-cli/v1.5.1`,
          ),
          err.message,
        );
        return true;
      },
    );
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a TEMPORAL_CLI that is not an executable file', async () => {
    await assert.rejects(
      findTemporalCli({ env: { TEMPORAL_CLI: '/nonexistent/temporal', PATH: '' } }),
      /TEMPORAL_CLI=\/nonexistent\/temporal is not an executable file/,
    );
  });
});
