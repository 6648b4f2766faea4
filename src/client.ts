#!/usr/bin/env node
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig } from './io/config.js';
import { connectClient, TemporalUnreachable } from './io/temporal.js';
import { parseRunArgs, UsageError } from './cli/args.js';
import { runCommand } from './cli/run.js';
import { runWorker } from './worker.js';

const USAGE = `Usage:
  redeploy --versions "pkg=ver[,pkg=ver…]" [--skip-sync] [--skip-dockerfile-update] [--skip-infisical]
           [--worktree-ticket NAME] [--verify-only]
  redeploy worker            run a worker for the configured task queue (REDEPLOY_TASK_QUEUE)

Exit codes: 0 success, 1 run failed (waiting for an operator decision), 2 usage or configuration error.`;

/** CLI entry: parse → validate → dispatch. Every input is validated before any connection is made. */
export async function main(argv: string[]): Promise<number> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  const err = (line: string) => process.stderr.write(`${line}\n`);
  try {
    if (argv[0] === '-h' || argv[0] === '--help') {
      out(USAGE);
      return 0;
    }
    if (argv[0] === 'worker') {
      await runWorker();
      return 0;
    }
    const req = parseRunArgs(argv);
    const config = loadConfig();
    const client = await connectClient(config);
    try {
      return await runCommand(client, config, req, out);
    } finally {
      await client.connection.close();
    }
  } catch (e) {
    if (e instanceof UsageError) {
      for (const p of e.problems) err(`redeploy: ${p}`);
      err('Run `redeploy --help` for usage.');
      return 2;
    }
    if (e instanceof ConfigError) {
      err(e.message);
      return 2;
    }
    if (e instanceof TemporalUnreachable) {
      err(e.message);
      return 1;
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
