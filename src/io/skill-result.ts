import path from 'node:path';
import { PHASES, type PhaseStatus, type Phase } from '../core/phases.js';
import type { RedeployState } from '../core/state.js';
import { writeOwnedFile } from './safe-fs.js';

/** The seed's ModelSkillResult, `<skill results>/<context_id>/redeploy.json`. */
export interface SkillResult {
  skill: 'redeploy';
  status: 'success' | 'failed' | 'dry_run';
  run_id: string;
  phases: Record<Phase, PhaseStatus>;
  pins_applied: Record<string, string>;
  // Additive: why it failed, and the run's own status (aborted, cancelled, waiting_for_decision …).
  run_status?: string;
  error?: string | null;
}

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** No rule exists for redeploy; sibling skills use CLAUDE_CONTEXT_ID, then CLAUDE_SESSION_ID, then `default`. */
export function contextId(env: NodeJS.ProcessEnv = process.env): string {
  const id = env['CLAUDE_CONTEXT_ID'] || env['CLAUDE_SESSION_ID'] || 'default';
  // It becomes a directory name: anything path-like falls back rather than escaping the results dir.
  return SEGMENT_RE.test(id) ? id : 'default';
}

export function skillResultPath(dir: string, env: NodeJS.ProcessEnv = process.env): string {
  return path.join(dir, contextId(env), 'redeploy.json');
}

export function resultFromState(state: RedeployState): SkillResult {
  return {
    skill: 'redeploy',
    status: state.status === 'completed' ? 'success' : 'failed',
    run_id: state.run_id,
    phases: Object.fromEntries(PHASES.map((p) => [p, state.phases[p].status])) as Record<Phase, PhaseStatus>,
    pins_applied: state.pins_applied,
    run_status: state.status,
    error: state.error ?? state.pending_decision?.error ?? null,
  };
}

export async function writeSkillResult(
  dir: string,
  result: SkillResult,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const file = skillResultPath(dir, env);
  return writeOwnedFile(dir, file, `${JSON.stringify(result, null, 2)}\n`, 'REDEPLOY_SKILL_RESULTS_DIR');
}
