// `npm test`: one real Temporal dev server for the whole run (free ports, search attributes registered),
// then node's test runner over the compiled tests. Each test uses its own task queue on that server.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { CURRENT_LINE, findTemporalCli, LINE_ENV } from '../dist/src/io/temporal-cli.js';
import { startDevServer } from '../dist/src/io/dev-server.js';

const files = process.argv.slice(2);

// Every compiled test but the cluster tests: those start their own Temporal cluster and PostgreSQL,
// too heavy to share two cores with the rest; `npm run test:cluster` runs them on their own.
function defaultFiles() {
  return fs
    .readdirSync('dist/test', { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.test.js') && !f.startsWith(`cluster${path.sep}`))
    .sort()
    .map((f) => path.join('dist/test', f));
}

// The line the tests' server runs: REDEPLOY_TEMPORAL_CLI_VERSION, else the product's default (1.9.1, UI
// 2.54.1) — what users get, and every test, the Web UI's included, passes on it; CI runs test/workflows and
// test/webui again on the previous line (1.5.1, UI 2.42.1). Named, not left unset: an unset line would let
// any `temporal` on PATH serve the tests. Only this script picks it: the tests still see the product's
// default through an unset REDEPLOY_TEMPORAL_CLI_VERSION.
const cli = await findTemporalCli({
  env: { ...process.env, [LINE_ENV]: process.env[LINE_ENV] || CURRENT_LINE },
});
// Which Temporal line this run tests (CI runs the core suite on two): in the log, first.
const { execFileSync } = await import('node:child_process');
console.error(`[temporal] ${cli}: ${execFileSync(cli, ['--version'], { encoding: 'utf8' }).trim()}`);
const server = await startDevServer({ cli, log: (l) => console.error(l) });
let code = 1;
try {
  code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        // REDEPLOY_TEST_CONCURRENCY: CI's second pass runs 3 files at once (they mostly wait on timers: ~250 s of
        // CPU in 621 s at 3; 358-436 s at 6, but one file then hit the 300 s file timeout on a load-16 machine).
        `--test-concurrency=${process.env.REDEPLOY_TEST_CONCURRENCY || 2}`,
        // Per file as a whole too: run.test.js alone takes ~280 s on a loaded 2-core machine, so 300 s was a
        // coin toss there; a hung file still ends, after 10 minutes.
        '--test-timeout=600000',
        // A test that times out can leave handles (a worker, a connection) open; without this its file
        // would never exit and the whole run would hang until CI's limit.
        '--test-force-exit',
        ...(files.length ? files : defaultFiles()),
      ],
      {
        stdio: 'inherit',
        env: {
          ...process.env,
          REDEPLOY_TEST_TEMPORAL_ADDRESS: server.address,
          REDEPLOY_TEST_TEMPORAL_UI: server.uiUrl,
          REDEPLOY_TEST_TEMPORAL_CLI: cli,
        },
      },
    );
    child.on('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0)));
  });
} finally {
  await server.stop();
}
process.exit(code);
