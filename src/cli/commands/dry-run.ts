import { PHASES, flagSkip, type Phase, type PhaseStatus } from '../../core/phases.js';
import { loadConfig } from '../../io/config.js';
import type { Tree } from '../../io/infra-tree.js';
import { writeSkillResult } from '../../io/skill-result.js';
import type { Command } from '../args.js';
import { dryRunLines } from '../dry-run.js';
import { newRunId } from '../run-id.js';

/** `redeploy --dry-run`: what each phase would run and the pin diff; nothing started, no Temporal. */
export async function dryRun(
  cmd: Extract<Command, { kind: 'run' }>,
  out: (line: string) => void,
  /** origin/<ref>'s tree, already read by the run policy (cli/pin-policy.ts). */
  tree?: Tree,
): Promise<number> {
  const config = loadConfig(); // cheap, and keeps this function usable on its own
  const runId = newRunId();
  for (const line of await dryRunLines(config, runId, cmd.req, tree)) out(line);
  const phases = Object.fromEntries(
    PHASES.map((p) => [p, flagSkip(p, cmd.req.flags) ?? 'pending']),
  ) as Record<Phase, PhaseStatus>;
  // A dry run leaves a skill result (status dry_run) and no state file, as the seed says.
  await writeSkillResult(config.skillResultsDir, {
    skill: 'redeploy',
    status: 'dry_run',
    run_id: runId,
    phases,
    pins_applied: {},
  });
  return 0;
}
