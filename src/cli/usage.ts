import { readFileSync } from 'node:fs';

/** The `--help` text: no project or package imports, so `--help` loads nothing else. */
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
  --require-proven LANE      refuse unless a completed run on LANE deployed the same origin/main commit
                             and verified the same versions (env REDEPLOY_REQUIRE_PROVEN: promoted lanes)
  --pin-policy edit|admit    edit: write ==version in the worktree; admit: origin's specifier must admit
                             each version, nothing is edited (default: admit on prod and lanes whose
                             deploy script guards promoted lineage, else edit; env REDEPLOY_PIN_POLICY)
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
130 interrupted (Ctrl-C detaches; the run goes on; SIGHUP 129 and SIGTERM 143 likewise).`;

/** `redeploy --version`: package.json's version (node:fs only, so the entry answers it before loading anything). */
export function packageVersion(): string {
  // dist/src/cli/usage.js → the package root, three levels up.
  const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}
