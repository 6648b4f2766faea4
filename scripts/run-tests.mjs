// `npm test`: one real Temporal dev server for the whole run (free ports, search attributes registered),
// then node's test runner over the compiled tests. Each test uses its own task queue on that server.
import { spawn } from 'node:child_process';
import { findTemporalCli } from '../dist/src/io/temporal-cli.js';
import { startDevServer } from '../dist/src/io/dev-server.js';

const files = process.argv.slice(2);
const cli = await findTemporalCli();
const server = await startDevServer({ cli, log: (l) => console.error(l) });
let code = 1;
try {
  code = await new Promise((resolve) => {
    const child = spawn(
      process.execPath,
      [
        '--test',
        '--test-concurrency=2',
        '--test-timeout=300000',
        // A test that times out can leave handles (a worker, a connection) open; without this its file
        // would never exit and the whole run would hang until CI's limit.
        '--test-force-exit',
        ...(files.length ? files : ['dist/test/']),
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
