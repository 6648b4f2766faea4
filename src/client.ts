#!/usr/bin/env node
// The one entry point. `--help`, `-h` and `--version` on their own are answered here, before anything else
// loads (issue 23: they cost node's start and little more); every other command loads cli/main.js, which
// in turn loads only what that command needs.
import fs from 'node:fs';
import v8 from 'node:v8';
import { fileURLToPath } from 'node:url';
import { packageVersion, USAGE } from './cli/usage.js';

const BUNDLE_DIR = new URL('./cli-bundle/', import.meta.url);
const BUNDLE = new URL('main.cjs', BUNDLE_DIR);

/**
 * The one-file build of the CLI (scripts/bundle-cli.mjs, part of `npm run build`): node then compiles a few
 * files instead of ~300 modules. Not when it is missing, or older than tsc's output (`tsc` alone after an
 * edit rewrites cli/main.js but leaves the bundle as it was): the modules run the same code.
 */
function bundled(): boolean {
  try {
    return fs.statSync(BUNDLE).mtimeMs >= fs.statSync(new URL('./cli/main.js', import.meta.url)).mtimeMs;
  } catch {
    return false;
  }
}

export async function main(argv: string[]): Promise<number> {
  const only = argv.length === 1 ? argv[0] : undefined;
  if (only === '--help' || only === '-h' || only === '--version') {
    // `redeploy --help | head`: a closed pipe drops the rest (as cli/main.ts's tolerateClosedOutput does).
    process.stdout.on('error', () => undefined);
    process.stdout.write(`${only === '--version' ? packageVersion() : USAGE}\n`);
    return 0;
  }
  // Imported here, not at the top: `--help` loads nothing it does not need (start-flags.ts says why).
  v8.setFlagsFromString((await import('./start-flags.js')).START_V8_FLAGS);
  // The bundle's scripts run with V8's code cache (bundle-loader.ts says why they are not modules).
  const cli = (
    bundled()
      ? await (await import('./bundle-loader.js')).bundleLoader(BUNDLE_DIR).main()
      : await import('./cli/main.js')
  ) as typeof import('./cli/main.js');
  return cli.main(argv);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      // cli/main.ts reports every error it meets; this is one it could not (its own modules failed to load).
      process.stderr.write(`redeploy: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
