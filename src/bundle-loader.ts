// Runs the CLI's one-file build (scripts/bundle-cli.mjs → dist/src/cli-bundle/*.cjs) with V8's code cache.
// Node 20 caches no compiled code for modules (module.enableCompileCache is 22.1+), and compiling the bundle
// (zod, execa, the CLI) was a large part of a dry run's start (issue 23). So the bundle is CommonJS-shaped
// scripts compiled here with vm.Script and the cache `npm run build` made for each (its `.v8cache` file),
// the way v8-compile-cache does for CommonJS. A cache is code: one is used only when it is no easier to
// change than the script it stands for, and only for the exact bytes it was made from.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire, Module } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { START_V8_FLAGS } from './start-flags.js';

/** Beside each script: `<script>.v8cache` = MAGIC, the SHA-256 of the script's bytes, V8's data. */
export const CACHE_SUFFIX = '.v8cache';
const MAGIC = Buffer.from('RDV8C001');
const HASH_BYTES = 32;

/**
 * The wrapper each script runs in (as CommonJS's), its own line first so that positions in stack traces
 * are the file's (lineOffset -1). `__bundleUrl` stands for import.meta.url, `__bundleImport` for import()
 * (scripts/bundle-cli.mjs rewrites both: a vm.Script has neither).
 */
const wrap = (source: string) =>
  `(function (exports, require, module, __filename, __dirname, __bundleUrl, __bundleImport) {\n${source}\n})`;

type Wrapped = (
  exports: unknown,
  require: (id: string) => unknown,
  module: { exports: unknown },
  filename: string,
  dirname: string,
  bundleUrl: string,
  bundleImport: (specifier: string) => Promise<unknown>,
) => void;

export interface BundleLoader {
  /** Loads `<dir>/main.cjs` (the chunks it asks for come through here too); its exports once evaluated. */
  main(): Promise<unknown>;
  /** `npm run build` only (scripts/bundle-cli.mjs, after a training run): writes each loaded script's cache. */
  writeCaches(): void;
  /** Which scripts ran with their cache (for the build's summary and the tests). */
  readonly used: ReadonlyMap<string, boolean>;
}

/**
 * The cache beside `file`, if it may be used: a regular file (not a link), owned by the script's owner and
 * writable by no one who cannot write the script, made from exactly these bytes (V8 itself checks only
 * its version, its flags and the source's length).
 */
function trustedCache(file: string, code: fs.Stats, hash: Buffer): Buffer | undefined {
  let fd: number;
  try {
    fd = fs.openSync(`${file}${CACHE_SUFFIX}`, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    return undefined;
  }
  try {
    const st = fs.fstatSync(fd);
    if (!st.isFile() || st.uid !== code.uid || (st.mode & 0o022 & ~code.mode) !== 0) return undefined;
    const data = fs.readFileSync(fd);
    const head = MAGIC.length + HASH_BYTES;
    if (data.length <= head || !data.subarray(0, MAGIC.length).equals(MAGIC)) return undefined;
    if (!data.subarray(MAGIC.length, head).equals(hash)) return undefined;
    return data.subarray(head);
  } finally {
    fs.closeSync(fd);
  }
}

export function bundleLoader(dir: URL): BundleLoader {
  // Before any script compiles: a cache made under other flags is rejected (start-flags.ts).
  v8.setFlagsFromString(START_V8_FLAGS);
  const root = fileURLToPath(dir);
  const scripts = new Map<string, { script: vm.Script; hash: Buffer }>();
  const used = new Map<string, boolean>();
  const loaded = new Map<string, unknown>();
  const bundleImport = (specifier: string) =>
    import(specifier.startsWith('.') ? new URL(specifier, dir).href : specifier) as Promise<unknown>;

  const load = (file: string): unknown => {
    if (loaded.has(file)) return loaded.get(file);
    const bytes = fs.readFileSync(file);
    const hash = createHash('sha256').update(bytes).digest();
    const cachedData = trustedCache(file, fs.statSync(file), hash);
    const script = new vm.Script(wrap(bytes.toString('utf8')), {
      filename: file,
      lineOffset: -1,
      ...(cachedData ? { cachedData } : {}),
    });
    scripts.set(file, { script, hash });
    used.set(file, cachedData !== undefined && !script.cachedDataRejected);
    const fn = script.runInThisContext() as Wrapped;
    const base = createRequire(file);
    // webpack's chunk loading asks for `./<chunk>.cjs`: those come through here, everything else is node's.
    const req = (id: string) => (id.startsWith('./') ? load(path.join(root, id)) : base(id));
    // Recorded as CommonJS's own modules are (require.cache): what a module trace lists.
    const mod = new Module(file);
    mod.filename = file;
    base.cache[file] = mod;
    fn.call(mod.exports, mod.exports, req, mod, file, root, pathToFileURL(file).href, bundleImport);
    mod.loaded = true;
    loaded.set(file, mod.exports);
    return mod.exports;
  };

  return {
    used,
    // The entry is an async module (it awaits its externals): its exports come as a promise.
    main: () => Promise.resolve(load(path.join(root, 'main.cjs'))),
    writeCaches: () => {
      for (const [file, { script, hash }] of scripts) {
        const out = `${file}${CACHE_SUFFIX}`;
        const tmp = `${out}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, Buffer.concat([MAGIC, hash, script.createCachedData()]), {
          flag: 'wx',
          mode: 0o644,
        });
        fs.renameSync(tmp, out);
      }
    },
  };
}
