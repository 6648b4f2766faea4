import { contextId } from '../../io/skill-result.js';
import { isPinPolicy } from '../../core/pin-policy.js';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
  type WorkflowHandle,
} from '@temporalio/client';
import { PHASES, carriedPhases } from '../../core/phases.js';
import { formatVersions, normalizeName, type Versions } from '../../core/versions.js';
import type { RedeployFlags, RedeployInput, RedeployState } from '../../core/state.js';
import { checkCarried, runStateOrUndefined, type ParsedState } from '../../core/parse-state.js';
import { STATE_FLAGS, rowOf } from '../../core/flags.js';
import { worktreePathFor } from '../../core/commands.js';
import { refProblems } from '../../core/ref.js';
import { ticketProblems } from '../../core/ticket.js';
import { targetLockId } from '../../core/target-lock.js';
import { decideUpdate } from '../../core/messages.js';
import { workflowUrl } from '../../io/temporal.js';
import { readStateFile, stateFilePath } from '../../io/state-file.js';
import { finalState, mirrorState, queryState } from '../attach.js';
import { UsageError, type Command } from '../args.js';
import { follow, launch, operator, reporterFor, runHandle, runTaskQueue, type Context } from './shared.js';

function sameVersions(a: Versions, b: Versions): boolean {
  const norm = (v: Versions) =>
    JSON.stringify(
      Object.entries(v)
        .map(([k, x]) => [normalizeName(k), x])
        .sort(),
    );
  return norm(a) === norm(b);
}

type ResumeCommand = Extract<Command, { kind: 'resume' }>;

function checkVersions(cmd: ResumeCommand, recorded: Versions): void {
  if (cmd.versions && !sameVersions(cmd.versions, recorded)) {
    throw new UsageError([
      `--versions "${formatVersions(cmd.versions)}" does not match the versions recorded for ${cmd.runId}: "${formatVersions(recorded)}" (omit --versions to use them)`,
    ]);
  }
}

/**
 * A run waiting for a decision, as its state file says: the retry goes at once, before the describe and
 * the progress query (issue 23: ~35 ms of `--resume`, their first decodes included). The file is
 * untrusted and only names the phase: the run's own validator refuses a retry of any phase but the one
 * waiting. No file, an unreadable one, --versions to check against the run, a refusal, no such run open
 * or no worker taking the retry within FAST_RETRY_PATIENCE_MS (or a Ctrl-C meanwhile): undefined, and the
 * full path below decides as before (a refused update changed nothing).
 */
async function retryAsRecorded(
  ctx: Context,
  cmd: ResumeCommand,
  handle: WorkflowHandle,
): Promise<number | undefined> {
  if (cmd.versions) return undefined;
  // A run's state (not an old skill's file), checked as the progress query's answer is.
  const recorded = runStateOrUndefined(
    await readStateFile(ctx.config.stateDir, cmd.runId).catch(() => undefined),
  );
  const pending = recorded?.status === 'waiting_for_decision' ? recorded.pending_decision : undefined;
  if (!pending) return undefined;
  let ack;
  try {
    // Bounded, and a Ctrl-C ends it: with no worker polling, an update is never accepted (the path below
    // then says "still running, attaching" and follows, as before).
    const patience = AbortSignal.any([ctx.signal, AbortSignal.timeout(FAST_RETRY_PATIENCE_MS)]);
    ack = await ctx.client.withAbortSignal(patience, () =>
      handle.executeUpdate(decideUpdate, {
        args: [{ action: 'retry', phase: pending.phase, by: operator() }],
      }),
    );
  } catch (err) {
    if (
      err instanceof WorkflowUpdateFailedError ||
      err instanceof WorkflowNotFoundError ||
      err instanceof WorkflowUpdateRPCTimeoutOrCancelledError
    )
      return undefined;
    throw err;
  }
  const reporter = await reporterFor(ctx, cmd.json);
  reporter.started(cmd.runId, workflowUrl(ctx.config, cmd.runId));
  reporter.note(`Resuming ${cmd.runId}: retrying ${ack.phase}`);
  if (cmd.detach) return 0;
  // The wait answered, as the run says: in the update's answer, else (a worker older than that field) its
  // progress now — never the file's, which may name an earlier wait of the same phase.
  const since = ack.since ?? (await queryState(handle).catch(() => undefined))?.pending_decision?.since;
  return follow(ctx, handle, reporter, since);
}

/** How long `--resume` waits for a waiting run to accept its retry before it asks the run what it is. */
const FAST_RETRY_PATIENCE_MS = 3000;

/** A run still running (`state`: its progress, as just queried): retried if it waits for a decision, else attached to. */
async function resumeRunning(
  ctx: Context,
  cmd: ResumeCommand,
  handle: WorkflowHandle,
  state: RedeployState | undefined,
): Promise<number> {
  if (state) checkVersions(cmd, state.versions_requested);
  const reporter = await reporterFor(ctx, cmd.json);
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

/**
 * The recorded ticket, worktree path and ref, checked against this invocation and the derived path. A
 * state file is untrusted input: a path in it is never used, only checked against the derived one.
 */
function checkRecorded(ctx: Context, cmd: ResumeCommand, prev: ParsedState | RedeployState): string {
  if (cmd.worktreeTicket && cmd.worktreeTicket !== prev.worktree_ticket) {
    throw new UsageError([
      `--worktree-ticket "${cmd.worktreeTicket}" does not match ${cmd.runId}'s ticket "${prev.worktree_ticket}"`,
    ]);
  }
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
  return derived;
}

/**
 * This invocation's flags, plus what the flags table keeps from the run resumed (its lane, its pin
 * policy) unless given here. A resumed run keeps the policy its PIN_UPDATE ran under: another is refused.
 */
function resumedFlags(cmd: ResumeCommand, recorded: Partial<RedeployFlags>): RedeployFlags {
  if (cmd.pinPolicy !== undefined && recorded.pinPolicy !== undefined && cmd.pinPolicy !== recorded.pinPolicy)
    throw new UsageError([
      `--pin-policy ${cmd.pinPolicy} does not match ${cmd.runId}'s pin policy "${recorded.pinPolicy}" (a resumed run keeps its policy; start a new run for another)`,
    ]);
  const flags: RedeployFlags = {
    ...cmd.flags,
    ...(isPinPolicy(cmd.pinPolicy) ? { pinPolicy: cmd.pinPolicy } : {}),
  };
  for (const flag of STATE_FLAGS) {
    if (rowOf(flag).keptOnResume && flags[flag] === undefined && recorded[flag] !== undefined)
      Object.assign(flags, { [flag]: recorded[flag] });
  }
  return flags;
}

/** A run started under --require-proven keeps its proof: DEPLOY still refuses any other commit. */
function keptProof(cmd: ResumeCommand, prev: ParsedState | RedeployState): RedeployInput['proven'] {
  if (prev.provenance?.proven_by && !prev.proven)
    throw new UsageError([
      `${cmd.runId} was started under --require-proven, but its state file has no valid proof record; start a new run (with --require-proven)`,
    ]);
  return prev.proven;
}

/** The closed run's state (`queried`: its answer to the progress query): from Temporal, else (a run of the old skill) its state file. */
async function closedState(
  ctx: Context,
  cmd: ResumeCommand,
  handle: WorkflowHandle,
  status: string | undefined,
  queried: RedeployState | undefined,
): Promise<ParsedState | RedeployState | string> {
  if (status !== undefined) {
    return (
      queried ??
      (await finalState(handle, ctx.config)) ??
      `Run ${cmd.runId} is ${status.toLowerCase()} and its state cannot be read (no worker, no ${stateFilePath(ctx.config.stateDir, cmd.runId)}); start a worker and retry.`
    );
  }
  return (
    (await readStateFile(ctx.config.stateDir, cmd.runId)) ??
    `State file not found: ${stateFilePath(ctx.config.stateDir, cmd.runId)}`
  );
}

/** The new run's input: the closed run's versions, ticket, ref, proof and carried phases. */
function resumeInput(ctx: Context, cmd: ResumeCommand, prev: ParsedState | RedeployState): RedeployInput {
  checkVersions(cmd, prev.versions_requested);
  // What it carries steers the new run: checked here, where it is carried (a live read only shows it).
  checkCarried(
    prev as ParsedState,
    `${cmd.runId}'s saved state (a new run, without --resume, does not read it)`,
  );
  const derived = checkRecorded(ctx, cmd, prev);
  // The host a closed run was routed to stays its host unless --target says otherwise.
  const target = cmd.target ?? prev.target ?? undefined;
  const proven = keptProof(cmd, prev);
  const provenance = prev.provenance;
  return {
    runId: cmd.runId,
    worktreeTicket: prev.worktree_ticket,
    versions: prev.versions_requested,
    flags: resumedFlags(cmd, prev.flags ?? {}),
    startedBy: operator(),
    skillContext: contextId(),
    ...(target ? { target } : {}),
    decisionTimeoutMs: ctx.config.decisionTimeoutMs,
    targetWaitTimeoutMs: ctx.config.targetWaitTimeoutMs,
    lockId: targetLockId(runTaskQueue(ctx, target)),
    ref: prev.worktree_ref,
    ...(proven ? { proven } : {}),
    resumeFrom: {
      phases: carriedPhases(prev),
      worktreePath: prev.worktree_path === null ? null : derived,
      startedAt: prev.started_at,
      ...(provenance && provenance.ref === prev.worktree_ref ? { provenance } : {}),
    },
  };
}

/**
 * `redeploy --resume <run_id>`: a running run is retried (if waiting) or attached to; a closed run, or
 * an old skill's state file, starts again under the same id after its completed phases.
 */
export async function resume(ctx: Context, cmd: ResumeCommand): Promise<number> {
  const handle = runHandle(ctx, cmd.runId);
  const retried = await retryAsRecorded(ctx, cmd, handle);
  if (retried !== undefined) return retried;
  // The run's status and its progress, asked at once (issue 23: one round trip and one query fewer
  // before a waiting run's retry). The describe's answer decides; its error comes first.
  const [described, queried] = await Promise.allSettled([handle.describe(), queryState(handle)]);
  let status: string | undefined;
  if (described.status === 'fulfilled') status = described.value.status.name;
  else if (!(described.reason instanceof WorkflowNotFoundError)) throw described.reason;
  if (queried.status === 'rejected') throw queried.reason; // an answer that is not a run state
  let state = queried.value;
  if (status === 'RUNNING' && state?.finished_at) {
    // Its outcome is set and it is only sending its final message: resume the closed run it is about to be.
    await handle.result().catch(() => undefined);
    status = (await handle.describe()).status.name;
    state = await queryState(handle); // its final state
  }
  if (status === 'RUNNING') return resumeRunning(ctx, cmd, handle, state);
  if (status === 'COMPLETED') {
    const final = state ?? (await finalState(handle, ctx.config));
    if (final) await mirrorState(ctx.config, final, true);
    ctx.out(`Run ${cmd.runId} already completed; nothing to resume.`);
    return 0;
  }
  const prev = await closedState(ctx, cmd, handle, status, state);
  if (typeof prev === 'string') {
    ctx.out(prev);
    return 1;
  }
  const input = resumeInput(ctx, cmd, prev);
  // The same refusals as a new run, before anything starts (exit 2): a promoted lane only admits, from main.
  // Loaded here: only a closed run reads git (with execa); a waiting run's retry does not pay for it.
  const { decideRunPolicy, withPolicy } = await import('../pin-policy.js');
  const policy = await decideRunPolicy(ctx.config, {
    flags: input.flags,
    ref: input.ref,
    pinPolicy: input.flags.pinPolicy,
  });
  input.flags = withPolicy(input.flags, policy);
  const completed = PHASES.filter((p) => input.resumeFrom?.phases[p]?.status === 'completed');
  const line = `Resuming ${cmd.runId}: skipping completed phases [${completed.map((p) => `'${p}'`).join(', ')}]`;
  if (cmd.json) ctx.out(JSON.stringify({ event: 'note', message: line }));
  else ctx.out(line);
  return launch(ctx, input, cmd, completed);
}
