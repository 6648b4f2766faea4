import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { findTemporalServer, serverCacheDir, TemporalServerMissing } from '../../src/io/temporal-server.js';

async function fakeBuild(dir: string, opts: { schema?: boolean } = {}): Promise<void> {
  await fs.mkdir(dir, { recursive: true });
  for (const name of ['temporal-server', 'temporal-sql-tool'])
    await fs.writeFile(path.join(dir, name), '#!/bin/sh\necho fake\n', { mode: 0o755 });
  if (opts.schema !== false)
    for (const sub of ['temporal', 'visibility'])
      await fs.mkdir(path.join(dir, 'schema/postgresql/v12', sub, 'versioned'), { recursive: true });
}

describe('finding the real Temporal server build', () => {
  it('takes REDEPLOY_TEMPORAL_SERVER_DIR, else the cache, without building', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-server-'));
    const explicit = path.join(dir, 'explicit');
    const env = { PATH: '/nonexistent', XDG_CACHE_HOME: path.join(dir, 'cache') };
    await fakeBuild(explicit);
    await fakeBuild(serverCacheDir(env));
    const found = await findTemporalServer({ env: { ...env, REDEPLOY_TEMPORAL_SERVER_DIR: explicit } });
    assert.equal(found.server, path.join(explicit, 'temporal-server'));
    assert.equal(found.schemaDir, path.join(explicit, 'schema/postgresql/v12'));
    const cached = await findTemporalServer({ env, build: false });
    assert.equal(cached.sqlTool, path.join(dir, 'cache/redeploy/temporal-server/v1.29.1/temporal-sql-tool'));
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('does not take a build without its schema, and says how to provide one', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-server-'));
    await fakeBuild(dir, { schema: false });
    await assert.rejects(
      findTemporalServer({ env: { PATH: '/nonexistent', REDEPLOY_TEMPORAL_SERVER_DIR: dir } }),
      (err: unknown) => {
        assert.ok(err instanceof TemporalServerMissing);
        assert.match(err.message, /REDEPLOY_TEMPORAL_SERVER_DIR=.* is incomplete/);
        assert.match(err.message, /go\.temporal\.io\/server@v1\.29\.1/);
        return true;
      },
    );
    await assert.rejects(
      findTemporalServer({ env: { PATH: path.join(dir, 'empty'), XDG_CACHE_HOME: dir }, log: () => {} }),
      /no Go toolchain to build it/,
    );
    await fs.rm(dir, { recursive: true, force: true });
  });
});
