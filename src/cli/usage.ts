import { readFileSync } from 'node:fs';
import { runOptionsHelp } from '../core/flags.js';

/** The `--help` text: its only import (the flags table) imports nothing, so `--help` loads nothing else. */
export const USAGE = `Usage: redeploy --versions "pkg=ver[,pkg=ver…]" [options]
       redeploy --resume <run_id> [--versions …] [options]
       redeploy status|watch|retry|abort|cancel|report <run_id>
       redeploy skip --phase PHASE <run_id>
       redeploy list | worker | server

Run options (the /redeploy skill's):
${runOptionsHelp().join('\n')}

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
  server [--stop]            the dev server and a worker in the foreground until Ctrl-C
                             (--stop: stop the background ones zero-setup mode started)

Exit codes: 0 success · 1 run failed or aborted (or Temporal unreachable) · 2 usage or configuration error ·
130 interrupted (Ctrl-C detaches; the run goes on; SIGHUP 129 and SIGTERM 143 likewise).`;
/** `redeploy --version`: package.json's version (node:fs only, so the entry answers it before loading anything). */
export function packageVersion(): string {
  // dist/src/cli/usage.js → the package root, three levels up.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
