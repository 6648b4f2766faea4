import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { bundleLoader, CACHE_SUFFIX } from '../../src/bundle-loader.js';

// Issue 23: the CLI bundle runs with V8's code cache. A cache is code: it is used only for the exact bytes
// it was made from, and only when no one can write it who cannot write the script.
describe('bundle loader: the code cache', () => {
  let dir: string;
  const main = () => path.join(dir, 'main.cjs');
  const run = async () => {
    const loader = bundleLoader(pathToFileURL(`${dir}/`));
    const exports = (await loader.main()) as { value: () => string };
    return { value: exports.value(), used: loader.used.get(main()), loader };
  };
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-bundle-loader-'));
    fs.writeFileSync(main(), `module.exports = { value: () => require('./chunk.cjs').word + 'A' };\n`);
    fs.writeFileSync(path.join(dir, 'chunk.cjs'), `exports.word = 'chunk';\n`);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('made after a run, used by the next; a script of the same length but other bytes is not run from it', async () => {
    const first = await run();
    assert.equal(first.value, 'chunkA');
    assert.equal(first.used, false, 'no cache yet');
    first.loader.writeCaches();
    assert.ok(fs.existsSync(`${main()}${CACHE_SUFFIX}`));
    assert.deepEqual(await run().then((r) => [r.value, r.used]), ['chunkA', true]);
    // Same length (V8 checks only that): the hash refuses the cache, the new bytes run.
    fs.writeFileSync(main(), fs.readFileSync(main(), 'utf8').replace("'A'", "'B'"));
    assert.deepEqual(await run().then((r) => [r.value, r.used]), ['chunkB', false]);
  });

  it('a cache others may write, or a link, is not used', async () => {
    (await run()).loader.writeCaches();
    assert.equal((await run()).used, true);
    const cache = `${main()}${CACHE_SUFFIX}`;
    fs.chmodSync(cache, 0o666);
    assert.deepEqual(await run().then((r) => [r.value, r.used]), ['chunkB', false]);
    fs.chmodSync(cache, 0o644);
    fs.renameSync(cache, `${cache}.real`);
    fs.symlinkSync(`${cache}.real`, cache);
    assert.deepEqual(await run().then((r) => [r.value, r.used]), ['chunkB', false]);
  });
});

// The build's caches are made by a training run; V8 rejects a cache made under other flags than the ones it
// runs under (the CLI's start sets START_V8_FLAGS), so a mismatch silently costs the whole gain.
describe('bundle loader: the built CLI bundle', () => {
  it("the build's cache for main.cjs is accepted under the flags every CLI start sets", async () => {
    const dir = new URL('../../src/cli-bundle/', import.meta.url);
    const loader = bundleLoader(dir);
    await loader.main();
    const main = path.join(fileURLToPath(dir), 'main.cjs');
    assert.ok(fs.existsSync(`${main}${CACHE_SUFFIX}`), 'npm run build writes main.cjs.v8cache');
    assert.equal(loader.used.get(main), true, 'V8 rejected the build cache (made under other flags?)');
  });

  it("a run's and --resume's scripts, the Temporal client's included, come with a cache", async () => {
    const dir = new URL('../../src/cli-bundle/', import.meta.url);
    const loader = bundleLoader(dir);
    const cli = (await loader.main()) as { loadRunPath: () => Promise<void> };
    await cli.loadRunPath();
    const names = [...loader.used.keys()].map((f) => path.basename(f));
    for (const name of [
      'dist_src_cli_commands_run_js.cjs',
      'dist_src_io_temporal_js.cjs',
      'dist_src_cli_commands_resume_js.cjs',
      // webpack names a package's chunk after its path from the build's root, links included: a suffix.
      'node_modules_temporalio_client_lib_index_js.cjs',
    ])
      assert.ok(
        names.some((n) => n.endsWith(name)),
        `${name} is on the run path (loaded: ${names.join(', ')})`,
      );
    const uncached = [...loader.used].filter(([, used]) => !used).map(([f]) => path.basename(f));
    assert.deepEqual(uncached, [], 'every script a run loads before it starts has its cache');
    // The client is in the bundle (compiled from its cache, not by node's loader from ~100 files); the
    // worker is not (a run's CLI never loads it). Checked as booleans: a failing match would print 2 MB.
    const scripts = fs.readdirSync(dir).filter((n) => n.endsWith('.cjs'));
    const text = scripts.map((f) => fs.readFileSync(new URL(f, dir), 'utf8')).join('\n');
    const loads = (pkg: string) =>
      new RegExp(`(require|__bundleImport)\\(\\s*["'\`]@temporalio/${pkg}["'\`/]`).test(text);
    assert.equal(loads('client'), false, 'the client is bundled, not loaded from node_modules');
    assert.equal(loads('common'), false, 'so is @temporalio/common (one copy on the CLI side)');
    assert.equal(loads('worker'), true, 'the worker stays in node_modules (this check sees the bundle)');
  });
});
