// `npm run demo`: a real redeploy, end to end, on this machine — durable, visible in the Web UI, resumable.
// It builds a throwaway sandbox (git repos, stand-in scripts, health servers, a `docker` stand-in), uses the
// zero-setup local Temporal server, runs a full redeploy, then a deliberate DEPLOY failure and its --resume.
import { execa } from 'execa';
import { createSandbox } from '../dist/test/support/sandbox.js';
import { sandboxVars } from '../dist/test/support/harness.js';
import { findTemporalCli } from '../dist/src/io/temporal-cli.js';

const CLIENT = new URL('../dist/src/client.js', import.meta.url).pathname;
const VERSIONS = 'omninode-claude=0.4.0,omniintelligence=0.8.0';

// Resolved here, with the real HOME: the sandbox gives the CLI its own HOME, which has no cached build.
const temporalCli = await findTemporalCli();
const sb = await createSandbox();
// The same variables the tests use to point redeploy at a sandbox, minus TEMPORAL_ADDRESS: zero-setup mode.
const { TEMPORAL_ADDRESS: _none, ...env } = sandboxVars(sb, '', 'redeploy-demo', {
  REDEPLOY_VERIFY_TIMEOUT: '20s',
  TEMPORAL_CLI: temporalCli,
  ...(process.env.REDEPLOY_EMBEDDED_PORT
    ? { REDEPLOY_EMBEDDED_PORT: process.env.REDEPLOY_EMBEDDED_PORT }
    : {}),
  ...(process.env.REDEPLOY_EMBEDDED_UI_PORT
    ? { REDEPLOY_EMBEDDED_UI_PORT: process.env.REDEPLOY_EMBEDDED_UI_PORT }
    : {}),
});

/** Runs `redeploy`, showing its output as it comes, and returns it. */
async function redeploy(args, title) {
  console.log(`\n=== ${title}\n$ redeploy ${args.join(' ')}`);
  const child = execa(process.execPath, [CLIENT, ...args], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    all: true,
  });
  let out = '';
  child.all.on('data', (d) => {
    out += d.toString();
    process.stdout.write(d);
  });
  const r = await child;
  return { code: r.exitCode, out, runId: /\[redeploy\] (redeploy-\d{8}-[0-9a-f]{6}) — (\S+)/.exec(out) };
}

let code = 1;
try {
  const ok = await redeploy(['--versions', VERSIONS], '1. A full redeploy');
  if (ok.code !== 0) throw new Error(`the full redeploy failed (exit ${ok.code})`);

  await sb.setFault('deploy', {
    exitCode: 1,
    message: 'docker compose build: FAILED (deliberate, for the demo)',
  });
  const failed = await redeploy(
    ['--versions', VERSIONS, '--skip-sync'],
    '2. A redeploy whose DEPLOY fails (deliberately)',
  );
  if (failed.code !== 1 || !failed.runId)
    throw new Error(`expected the run to stop at DEPLOY (exit 1), got ${failed.code}`);
  await sb.clearFault('deploy');

  const resumed = await redeploy(
    ['--resume', failed.runId[1]],
    '3. The fault is gone: resume it (only DEPLOY and what follows run)',
  );
  if (resumed.code !== 0) throw new Error(`the resume failed (exit ${resumed.code})`);

  console.log(`
=== Done. In the Temporal Web UI:
  the full run:        ${ok.runId?.[2]}
  the resumed run:     ${failed.runId[2]}
  all redeploy runs:   ${failed.runId[2].replace(/\/workflows\/.*$/, '/workflows')}?query=${encodeURIComponent('WorkflowType="redeploy"')}
The local Temporal server keeps running (history in ${sb.stateDir}/temporal). Stop it with:
  REDEPLOY_STATE_DIR=${sb.stateDir} node ${CLIENT} server --stop
Sandbox (repos, logs, state files): ${sb.root}`);
  code = 0;
} catch (err) {
  console.error(`demo failed: ${err.message}`);
} finally {
  // The sandbox's files stay (the server's history lives there); its HTTP stand-ins stop with the demo.
  await sb.health.close();
  await sb.slack.close();
}
process.exit(code);
