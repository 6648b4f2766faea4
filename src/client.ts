#!/usr/bin/env node
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { CliError } from './core/errors.js';
import { formatVersions } from './core/versions.js';
import { loadConfig } from './io/config.js';
import { parseCommand } from './cli/args.js';
import { dryRun } from './cli/commands/dry-run.js';
import { terminalSafe } from './cli/terminal-text.js';

export const USAGE = `Usage: redeploy --versions "pkg=ver[,pkg=ver…]" [options]
       redeploy --resume <run_id> [--versions …] [options]
       redeploy status|watch|retry|abort|cancel|report <run_id>
       redeploy skip --phase PHASE <run_id>
       redeploy list | worker

Run options (the /redeploy skill's):
  --versions LIST            packages and versions to deploy, e.g. "omninode-claude=0.4.0,omniintelligence=0.8.0",
                             or "auto": each plugin's latest v* tag in its repo under OMNI_HOME
  --skip-sync                skip SYNC (pull-all.sh)
  --skip-dockerfile-update   skip PIN_UPDATE
  --skip-infisical           skip INFISICAL
  --worktree-ticket NAME     worktree and branch name (default: the run id)
  --lane NAME                omnibase_infra lane to deploy and verify (default: ONEX_DEPLOY_LANE, else dev)
  --verify-only              run VERIFY only
  --dry-run                  print the commands each phase would run and the pin diff; start nothing
  --resume RUN_ID            continue a run: retry its failed phase, or start it again after its completed phases
  --detach                   start (or decide) and return; follow later with \`redeploy watch\`
  --json                     one JSON object per event
  -h, --help                 this help
  --version                  print the version

Commands:
  status RUN_ID              the run's phases (also writes the legacy state file)
  watch RUN_ID               follow a run until it ends or waits for a decision
  retry RUN_ID [--phase P]   run the failed phase again (earlier phases are not re-run)
  skip --phase P RUN_ID      mark the failed phase skipped_by_operator and go on
  abort RUN_ID               end a waiting run as failed
  cancel RUN_ID              stop a run now (the running phase's processes are killed)
  report RUN_ID [--json]     phase timings and attempts, versions before/after, verification, decisions
  list                       recent runs
  worker [--target HOST] [--metrics HOST:PORT]
                             run a worker for REDEPLOY_TASK_QUEUE (--metrics: Prometheus on HOST:PORT)

Exit codes: 0 success · 1 run failed or aborted (or Temporal unreachable) · 2 usage or configuration error ·
130 interrupted (Ctrl-C detaches; the run goes on).`;

function version(): string {
  const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

/** CLI entry: parse → validate → dispatch. Every input is validated before any connection is made. */
export async function main(argv: string[]): Promise<number> {
  // Every line the CLI prints may quote a script's output: made terminal-safe here, at the sink.
  const out = (line: string) => process.stdout.write(`${terminalSafe(line)}\n`);
  const err = (line: string) => process.stderr.write(`${terminalSafe(line)}\n`);
  try {
    const cmd = parseCommand(argv);
    if (cmd.kind === 'help') {
      out(USAGE);
      return 0;
    }
    if (cmd.kind === 'version') {
      out(version());
      return 0;
    }
    if (cmd.kind === 'worker') {
      const { runWorker } = await import('./worker.js');
      await runWorker(cmd.target, cmd.metrics ? { metrics: cmd.metrics } : {});
      return 0;
    }
    const config = loadConfig();
    if (cmd.kind === 'run' && cmd.autoVersions) {
      const { autoVersions } = await import('./io/auto-versions.js');
      cmd.req.versions = await autoVersions(config.omniHome);
      out(`[redeploy] --versions auto: ${formatVersions(cmd.req.versions)}`);
    }
    if (cmd.kind === 'run' && cmd.dryRun) return await dryRun(cmd, out);
    const ac = new AbortController();
    const onSigint = () => ac.abort();
    process.once('SIGINT', onSigint);
    if (cmd.kind === 'server') {
      const server = await import('./cli/server.js');
      try {
        return cmd.stop ? await server.serverStop(config, out) : await server.serve(config, out, ac.signal);
      } finally {
        process.removeListener('SIGINT', onSigint);
      }
    }
    // Loaded only now: --help and --dry-run never pay for the Temporal client.
    const { connectClient } = await import('./io/temporal.js');
    const commands = await import('./cli/commands/index.js');
    // Zero-setup: no address configured → the local dev server (started in the background if needed),
    // and a worker in this process while the command runs.
    const embedded = !config.temporal.configured;
    if (embedded) {
      const { ensureEmbeddedServer } = await import('./io/embedded.js');
      await ensureEmbeddedServer(config, err);
    }
    const client = await connectClient(config);
    const local = embedded && cmd.kind !== 'list' ? await import('./cli/local-worker.js') : undefined;
    const localWorker = local ? local.localWorkerFactory(config) : undefined;
    const ctx = {
      client,
      config,
      out,
      signal: ac.signal,
      tty: !cmd.json && !!process.stdout.isTTY,
      argv: process.argv.slice(2),
      ...(localWorker ? { localWorker: localWorker.start } : {}),
    };
    try {
      // Queries, updates and cancellation all need a worker: in embedded mode this process is it.
      if (localWorker) await localWorker.start(await commands.taskQueueOf(ctx, cmd));
      return await commands.dispatch(ctx, cmd);
    } finally {
      process.removeListener('SIGINT', onSigint);
      await localWorker?.stop();
      await client.connection.close();
    }
  } catch (e) {
    // Every error the CLI means to end with is a CliError: it says what to print and the exit code.
    if (e instanceof CliError) {
      for (const line of e.lines()) err(line);
      return e.exitCode;
    }
    err(`redeploy: ${e instanceof Error ? e.message : String(e)}`);
    return 1;
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === fs.realpathSync(process.argv[1])) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    () => process.exit(1),
  );
}
