import { decideRunPolicy, withPolicy } from '../pin-policy.js';
import { contextId } from '../../io/skill-result.js';
import { isPinPolicy } from '../../core/pin-policy.js';
import { WorkflowNotFoundError } from '@temporalio/client';
import { PHASES, carriedPhases } from '../../core/phases.js';
import { formatVersions, normalizeName, type Versions } from '../../core/versions.js';
import type { RedeployInput, RedeployState } from '../../core/state.js';
import { provenanceSchema, provenSchema, type LegacyState } from '../../core/schemas.js';
import { worktreePathFor } from '../../core/commands.js';
import { refProblems } from '../../core/ref.js';
import { ticketProblems } from '../../core/ticket.js';
import { targetLockId } from '../../core/target-lock.js';
import { decideUpdate } from '../../core/messages.js';
import { workflowUrl } from '../../io/temporal.js';
import { readStateFile, stateFilePath } from '../../io/state-file.js';
import { mirrorState, queryState } from '../attach.js';
import { UsageError, type Command } from '../args.js';
import {
  follow,
  lastState,
  launch,
  operator,
  reporterFor,
  runHandle,
  runTaskQueue,
  type Context,
} from './shared.js';

function sameVersions(a: Versions, b: Versions): boolean {
  const norm = (v: Versions) =>
    JSON.stringify(
      Object.entries(v)
        .map(([k, x]) => [normalizeName(k), x])
        .sort(),
    );
  return norm(a) === norm(b);
}

/**
 * `redeploy --resume <run_id>`: a running run is retried (if waiting) or attached to; a closed run, or
 * an old skill's state file, starts again under the same id after its completed phases.
 */
export async function resume(ctx: Context, cmd: Extract<Command, { kind: 'resume' }>): Promise<number> {
  const handle = runHandle(ctx, cmd.runId);
  let status: string | undefined;
  try {
    status = (await handle.describe()).status.name;
  } catch (err) {
    if (!(err instanceof WorkflowNotFoundError)) throw err;
  }
  const checkVersions = (recorded: Versions) => {
    if (cmd.versions && !sameVersions(cmd.versions, recorded)) {
      throw new UsageError([
        `--versions "${formatVersions(cmd.versions)}" does not match the versions recorded for ${cmd.runId}: "${formatVersions(recorded)}" (omit --versions to use them)`,
      ]);
    }
  };

  let prev: LegacyState | RedeployState | undefined;
  if (status === 'RUNNING' && (await queryState(handle))?.finished_at) {
    // Its outcome is set and it is only sending its final message: resume the closed run it is about to be.
    await handle.result().catch(() => undefined);
    status = (await handle.describe()).status.name;
  }
  if (status === 'RUNNING') {
    const state = await queryState(handle);
    if (state) checkVersions(state.versions_requested);
    const reporter = reporterFor(ctx, cmd.json);
    reporter.started(cmd.runId, workflowUrl(ctx.config, cmd.runId));
    if (state?.status === 'waiting_for_decision' && state.pending_decision) {
      const phase = state.pending_decision.phase;
      await handle.executeUpdate(decideUpdate, { args: [{ action: 'retry', phase, by: operator() }] });
      reporter.note(`Resuming ${cmd.runId}: retrying ${phase}`);
    } else {
      reporter.note(`Resuming ${cmd.runId}: still running, attaching`);
    }
    return cmd.detach ? 0 : follow(ctx, handle, reporter, state?.pending_decision?.since);
  }
  if (status === 'COMPLETED') {
    const state = await lastState(ctx, handle);
    if (state) await mirrorState(ctx.config, state, true);
    ctx.out(`Run ${cmd.runId} already completed; nothing to resume.`);
    return 0;
  }
  if (status !== undefined) {
    prev = await lastState(ctx, handle);
    if (!prev) {
      ctx.out(
        `Run ${cmd.runId} is ${status.toLowerCase()} and its state cannot be read (no worker, no ${stateFilePath(ctx.config.stateDir, cmd.runId)}); start a worker and retry.`,
      );
      return 1;
    }
  } else {
    prev = await readStateFile(ctx.config.stateDir, cmd.runId); // a run of the old skill
    if (!prev) {
      ctx.out(`State file not found: ${stateFilePath(ctx.config.stateDir, cmd.runId)}`);
      return 1;
    }
  }
  checkVersions(prev.versions_requested);
  if (cmd.worktreeTicket && cmd.worktreeTicket !== prev.worktree_ticket) {
    throw new UsageError([
      `--worktree-ticket "${cmd.worktreeTicket}" does not match ${cmd.runId}'s ticket "${prev.worktree_ticket}"`,
    ]);
  }
  // A state file is untrusted input: a path in it is never used, only checked against the derived one.
  const derived = worktreePathFor(ctx.config.worktreeRoot, prev.worktree_ticket);
  // (An invalid ticket is refused below, with the input's other problems.)
  const ticketOk = ticketProblems(prev.worktree_ticket).length === 0;
  if (ticketOk && prev.worktree_path !== null && prev.worktree_path !== derived) {
    throw new UsageError([
      `${cmd.runId}'s recorded worktree_path is not ${derived} (its ticket's worktree under REDEPLOY_WORKTREE_ROOT); ` +
        `the state may come from another machine or have been edited. Set REDEPLOY_WORKTREE_ROOT to the root it was made under, or start a new run`,
    ]);
  }
  const refIssues = refProblems(prev.worktree_ref);
  if (refIssues.length > 0)
    throw new UsageError([
      `${cmd.runId}'s recorded worktree_ref ${refIssues.join('; ')}; start a new run with --ref`,
    ]);
  // --resume deploys what the run it resumes was deploying: its ref.
  if (cmd.ref !== undefined && cmd.ref !== prev.worktree_ref) {
    throw new UsageError([
      `--ref "${cmd.ref}" does not match ${cmd.runId}'s ref "${prev.worktree_ref}" (a resumed run keeps its ref; start a new run to deploy another)`,
    ]);
  }
  const recorded = provenanceSchema.safeParse((prev as { provenance?: unknown }).provenance);
  // The host a closed run was routed to stays its host unless --target says otherwise.
  const recordedTarget = (prev as { target?: string | null }).target ?? undefined;
  const target = cmd.target ?? recordedTarget;
  const recordedLane = (prev as { flags?: { lane?: unknown } }).flags?.lane;
  const recordedPolicy = (prev as { flags?: { pinPolicy?: unknown } }).flags?.pinPolicy;
  // A resumed run keeps the policy its PIN_UPDATE ran under: another one would undo or contradict it.
  if (cmd.pinPolicy !== undefined && isPinPolicy(recordedPolicy) && cmd.pinPolicy !== recordedPolicy)
    throw new UsageError([
      `--pin-policy ${cmd.pinPolicy} does not match ${cmd.runId}'s pin policy "${recordedPolicy}" (a resumed run keeps its policy; start a new run for another)`,
    ]);
  // A run started under --require-proven keeps its proof: DEPLOY still refuses any other commit.
  const provenRaw = (prev as { proven?: unknown }).proven;
  const proven = provenRaw === undefined ? undefined : provenSchema.safeParse(provenRaw);
  const provenBy = recorded.success ? recorded.data.proven_by : undefined;
  if ((proven && !proven.success) || (provenBy && !proven?.success))
    throw new UsageError([
      `${cmd.runId} was started under --require-proven, but its state file has no valid proof record; start a new run (with --require-proven)`,
    ]);
  const carried = carriedPhases(prev);
  const completed = PHASES.filter((p) => carried[p]?.status === 'completed');
  const input: RedeployInput = {
    runId: cmd.runId,
    worktreeTicket: prev.worktree_ticket,
    versions: prev.versions_requested,
    // The lane of the run resumed stays unless --lane says otherwise (like its target).
    flags: {
      ...cmd.flags,
      ...(cmd.flags.lane || typeof recordedLane !== 'string' ? {} : { lane: recordedLane }),
      ...(isPinPolicy(recordedPolicy)
        ? { pinPolicy: recordedPolicy }
        : isPinPolicy(cmd.pinPolicy)
          ? { pinPolicy: cmd.pinPolicy }
          : {}),
    },
    startedBy: operator(),
    skillContext: contextId(),
    ...(target ? { target } : {}),
    decisionTimeoutMs: ctx.config.decisionTimeoutMs,
    targetWaitTimeoutMs: ctx.config.targetWaitTimeoutMs,
    lockId: targetLockId(runTaskQueue(ctx, target)),
    ref: prev.worktree_ref,
    ...(proven?.success ? { proven: proven.data } : {}),
    resumeFrom: {
      phases: carried,
      worktreePath: prev.worktree_path === null ? null : derived,
      startedAt: prev.started_at,
      ...(recorded.success && recorded.data.ref === prev.worktree_ref ? { provenance: recorded.data } : {}),
    },
  };
  // The same refusals as a new run, before anything starts (exit 2): a promoted lane only admits, from main.
  const policy = await decideRunPolicy(ctx.config, {
    flags: input.flags,
    ref: input.ref,
    pinPolicy: input.flags.pinPolicy,
  });
  input.flags = withPolicy(input.flags, policy);
  const line = `Resuming ${cmd.runId}: skipping completed phases [${completed.map((p) => `'${p}'`).join(', ')}]`;
  if (cmd.json) ctx.out(JSON.stringify({ event: 'note', message: line }));
  else ctx.out(line);
  return launch(ctx, input, cmd, completed);
}
