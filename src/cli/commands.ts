import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
  type Client,
  type WorkflowHandle,
} from '@temporalio/client';
import { PHASES, type Phase } from '../core/phases.js';
import { formatVersions, normalizeName, type Versions } from '../core/versions.js';
import {
  initState,
  isActive,
  waitingLine,
  type PhaseRecord,
  type RedeployInput,
  type RedeployState,
} from '../core/state.js';
import { formatIssues, inputSchema, provenanceSchema, type LegacyState } from '../core/schemas.js';
import { worktreePathFor } from '../core/commands.js';
import { refProblems } from '../core/ref.js';
import { ticketProblems } from '../core/ticket.js';
import { describeProvenance } from '../core/provenance.js';
import type { DecisionPayload } from '../workflows/messages.js';
import type { Config } from '../io/config.js';
import { workflowUrl } from '../io/temporal.js';
import { describeTargetLock } from '../io/target-lock.js';
import { busyMessage, targetLockId } from '../core/target-lock.js';
import { resultFromState, writeSkillResult } from '../io/skill-result.js';
import { readStateFile, stateFilePath } from '../io/state-file.js';
import { attach, finalState, mirrorState, queryState } from './attach.js';
import { JsonReporter, LineReporter, TtyReporter, closingLines, type Reporter } from './progress.js';
import { newRunId } from './run-id.js';
import { UsageError, type Command, type RunRequest } from './args.js';

export interface Context {
  client: Client;
  config: Config;
  out: (line: string) => void;
  signal: AbortSignal;
  tty: boolean;
  /** Embedded mode: runs a worker in this process for the given task queue while the command lasts. */
  localWorker?: (taskQueue: string) => Promise<void>;
  /** The command line (after `redeploy`), shown in a started run's static details. */
  argv?: string[];
}

/** One task queue per runtime host: `--target host-a` routes to the worker started with the same target. */
export function taskQueueFor(config: Config, target: string | undefined | null): string {
  return target ? `${config.taskQueue}@${target}` : config.taskQueue;
}

export const operator = (): string => `${os.userInfo().username}@${os.hostname()}`;

function reporterFor(ctx: Context, json: boolean, settled: Phase[] = []): Reporter {
  if (json) return new JsonReporter(ctx.out);
  if (ctx.tty) return new TtyReporter(process.stdout);
  return new LineReporter(ctx.out, settled);
}

async function follow(
  ctx: Context,
  handle: WorkflowHandle,
  reporter: Reporter,
  decided?: string, // the `since` of the wait a decision just answered
): Promise<number> {
  if (ctx.localWorker) await ctx.localWorker((await handle.describe()).taskQueue);
  const r = await attach(handle, ctx.config, reporter, {
    signal: ctx.signal,
    live: ctx.tty,
    ...(decided ? { decided } : {}),
  });
  if (r.detached) {
    reporter.note(
      `Detached from ${handle.workflowId}; the run goes on. Re-attach: redeploy watch ${handle.workflowId} · cancel: redeploy cancel ${handle.workflowId}`,
    );
    return 130;
  }
  reporter.finished(r.state, r.exitCode);
  return r.exitCode;
}

/** Temporal's limit for a workflow's static summary, in bytes. */
const SUMMARY_MAX_BYTES = 200;

/** `s` cut to at most `max` UTF-8 bytes, on a character boundary, with `…` when cut. */
function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch + '…') > max) break;
    out += ch;
  }
  return `${out}…`;
}

/** An argv element as a person would type it in a POSIX shell. */
const shellWord = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * The run's static summary and details, so the Web UI's runs list and run header say what a run
 * deploys, where, and who started it how. Public: the Web UI test checks what the CLI sets.
 */
export function runMetadata(
  input: RedeployInput,
  taskQueue: string,
  argv: string[] | undefined,
): { staticSummary: string; staticDetails: string } {
  const target = input.target ?? 'default target';
  const f = input.flags;
  const flags = [
    f.skipSync && '--skip-sync',
    f.skipDockerfileUpdate && '--skip-dockerfile-update',
    f.skipInfisical && '--skip-infisical',
    f.verifyOnly && '--verify-only',
    f.noWait && '--no-wait',
    f.rollbackOnFailure && '--rollback-on-failure',
  ].filter((x): x is string => typeof x === 'string');
  const summary = `${f.verifyOnly ? 'verify' : 'redeploy'} ${formatVersions(input.versions)} on ${target} · by ${input.startedBy}`;
  const details = [
    ...(argv ? [`**Command:** \`redeploy ${argv.map(shellWord).join(' ')}\`  `] : []),
    `**Versions:** ${formatVersions(input.versions)}  `,
    `**Target:** ${target} (task queue \`${taskQueue}\`)  `,
    `**Started by:** ${input.startedBy}  `,
    `**Flags:** ${flags.length ? flags.map((x) => `\`${x}\``).join(' ') : 'none'}  `,
    `**Worktree ticket:** ${input.worktreeTicket}`,
  ];
  return { staticSummary: clipBytes(summary, SUMMARY_MAX_BYTES), staticDetails: details.join('\n') };
}

function startOptions(ctx: Context, input: RedeployInput) {
  const taskQueue = taskQueueFor(ctx.config, input.target);
  return {
    workflowId: input.runId,
    taskQueue,
    args: [input] as [RedeployInput],
    ...runMetadata(input, taskQueue, ctx.argv),
  };
}

async function warnIfNoWorker(
  ctx: Context,
  reporter: Reporter,
  taskQueue: string,
  detached: boolean,
): Promise<void> {
  if (ctx.localWorker && !detached) return; // this process runs one
  const { pollers } = await ctx.client.workflowService
    .describeTaskQueue({
      namespace: ctx.config.temporal.namespace,
      taskQueue: { name: taskQueue },
      taskQueueType: 1,
    })
    .catch(() => ({ pollers: [{}] }));
  if (!pollers?.length) {
    const target = taskQueue.includes('@') ? ` --target ${taskQueue.split('@')[1]}` : '';
    reporter.note(
      `[redeploy] no worker is polling task queue ${taskQueue}: the run waits until one starts (\`redeploy worker${target}\`, or \`redeploy server\` locally)`,
    );
  }
}

async function launch(
  ctx: Context,
  input: RedeployInput,
  opts: { json: boolean; detach: boolean },
  settled: Phase[] = [],
): Promise<number> {
  // Inputs built from a state file (an old skill's run) are checked like command-line ones: nothing
  // with a bad ticket or version starts.
  const checked = inputSchema.safeParse(input);
  if (!checked.success) throw new UsageError(formatIssues(checked.error, `run ${input.runId}: `));
  if (input.flags.noWait && !input.flags.verifyOnly) {
    // Refused before anything starts; the workflow checks again (another run may start in between).
    const holder = await describeTargetLock(
      ctx.client,
      input.lockId ?? targetLockId(taskQueueFor(ctx.config, input.target)),
    );
    if (holder) {
      const message = busyMessage(input.target, holder);
      ctx.out(
        opts.json
          ? JSON.stringify({ event: 'refused', reason: 'target_busy', holder, message })
          : `[redeploy] ${message}`,
      );
      // The skill reads this file for the outcome: without it, it would read the previous run's.
      const refused = initState(input, { workflowId: input.runId, runId: '' }, new Date().toISOString());
      await writeSkillResult(
        ctx.config.skillResultsDir,
        resultFromState({ ...refused, status: 'failed', error: message }),
      );
      return 1;
    }
  }
  const handle = await ctx.client.workflow.start('redeploy', startOptions(ctx, input));
  const reporter = reporterFor(ctx, opts.json, settled);
  reporter.started(input.runId, workflowUrl(ctx.config, input.runId));
  await warnIfNoWorker(ctx, reporter, taskQueueFor(ctx.config, input.target), opts.detach);
  if (opts.detach) {
    reporter.note(`Detached: follow with \`redeploy watch ${input.runId}\``);
    return 0;
  }
  return follow(ctx, handle, reporter);
}

export async function run(
  ctx: Context,
  req: RunRequest,
  opts: { json: boolean; detach: boolean; target: string | undefined },
): Promise<number> {
  const runId = newRunId();
  return launch(
    ctx,
    {
      runId,
      worktreeTicket: req.worktreeTicket ?? runId,
      versions: req.versions,
      flags: req.flags,
      ref: req.ref ?? ctx.config.worktreeRef,
      startedBy: operator(),
      ...(opts.target ? { target: opts.target } : {}),
      decisionTimeoutMs: ctx.config.decisionTimeoutMs,
      targetWaitTimeoutMs: ctx.config.targetWaitTimeoutMs,
      lockId: targetLockId(taskQueueFor(ctx.config, opts.target)),
    },
    opts,
  );
}

function sameVersions(a: Versions, b: Versions): boolean {
  const norm = (v: Versions) =>
    JSON.stringify(
      Object.entries(v)
        .map(([k, x]) => [normalizeName(k), x])
        .sort(),
    );
  return norm(a) === norm(b);
}

/** The last state of a run, closed or open: query, else (closed only) its result/failure or the mirrored file. */
async function lastState(ctx: Context, handle: WorkflowHandle): Promise<RedeployState | undefined> {
  const queried = await queryState(handle);
  if (queried) return queried;
  // result() would wait for a running run to end: only a closed one is asked for it.
  if ((await handle.describe()).status.name === 'RUNNING') return undefined;
  return finalState(handle, ctx.config);
}

/** What a new run under the same id carries over: completed phases, and the record of the phase it stopped in. */
function carriedPhases(prev: Pick<LegacyState, 'phases'>): Partial<Record<Phase, PhaseRecord>> {
  const carried: Partial<Record<Phase, PhaseRecord>> = {};
  for (const p of PHASES) {
    const record = prev.phases[p] as PhaseRecord;
    // A failed/running/cancelled record is kept too: the workflow then treats that phase as a re-attempt
    // (DEPLOY passes --force). Skips are not carried: the flags of this invocation decide again.
    if (['completed', 'failed', 'running', 'cancelled'].includes(record.status)) carried[p] = record;
  }
  return carried;
}

export async function resume(ctx: Context, cmd: Extract<Command, { kind: 'resume' }>): Promise<number> {
  const handle = ctx.client.workflow.getHandle(cmd.runId);
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
      await handle.executeUpdate('decide', {
        args: [{ action: 'retry', phase, by: operator() } satisfies DecisionPayload],
      });
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
    },
    startedBy: operator(),
    ...(target ? { target } : {}),
    decisionTimeoutMs: ctx.config.decisionTimeoutMs,
    targetWaitTimeoutMs: ctx.config.targetWaitTimeoutMs,
    lockId: targetLockId(taskQueueFor(ctx.config, target)),
    ref: prev.worktree_ref,
    resumeFrom: {
      phases: carried,
      worktreePath: prev.worktree_path === null ? null : derived,
      startedAt: prev.started_at,
      ...(recorded.success && recorded.data.ref === prev.worktree_ref ? { provenance: recorded.data } : {}),
    },
  };
  const line = `Resuming ${cmd.runId}: skipping completed phases [${completed.map((p) => `'${p}'`).join(', ')}]`;
  if (cmd.json) ctx.out(JSON.stringify({ event: 'note', message: line }));
  else ctx.out(line);
  return launch(ctx, input, cmd, completed);
}

export async function status(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = ctx.client.workflow.getHandle(runId);
  const description = await handle.describe();
  const state = await lastState(ctx, handle);
  if (!state) {
    ctx.out(
      `${runId}: ${description.status.name.toLowerCase()} (no progress state readable: is a worker running?)`,
    );
    return 1;
  }
  await mirrorState(ctx.config, state);
  if (json) {
    ctx.out(JSON.stringify(state, null, 2));
    return 0;
  }
  ctx.out(
    `${runId}: ${state.status}${state.current_phase ? ` (${state.current_phase})` : ''} — ${workflowUrl(ctx.config, runId)}`,
  );
  for (const p of PHASES) {
    const r = state.phases[p];
    ctx.out(`  ${`${p}:`.padEnd(12)}${r.status}${r.ts ? `  ${r.ts}` : ''}`);
  }
  if (state.waiting_for) ctx.out(`  ${waitingLine(state.waiting_for)}`);
  // Older states (before provenance was recorded) have none.
  if (state.provenance) {
    const p = state.provenance;
    ctx.out(
      `  Deploys:    ${describeProvenance(p)}${p.dockerfile_sha256 ? ` · Dockerfile sha256 ${p.dockerfile_sha256.slice(0, 16)}` : ''}`,
    );
    if (p.deploy_script) ctx.out(`  Script:     ${p.deploy_script}`);
  }
  if (!isActive(state.status)) for (const l of closingLines(state)) ctx.out(l);
  return 0;
}

export async function watch(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = ctx.client.workflow.getHandle(runId);
  await handle.describe(); // not found → a clear error before attaching
  const reporter = reporterFor(ctx, json);
  reporter.started(runId, workflowUrl(ctx.config, runId));
  return follow(ctx, handle, reporter);
}

export async function decide(
  ctx: Context,
  cmd: {
    kind: 'retry' | 'skip' | 'abort';
    runId: string;
    phase: Phase | undefined;
    json: boolean;
    detach: boolean;
  },
): Promise<number> {
  const handle = ctx.client.workflow.getHandle(cmd.runId);
  const state = await queryState(handle);
  const pending = state?.pending_decision;
  if (!state || !pending) {
    ctx.out(
      `${cmd.runId} is not waiting for a decision (status: ${state?.status ?? (await handle.describe()).status.name.toLowerCase()})`,
    );
    return 1;
  }
  const phase = cmd.phase ?? pending.phase;
  try {
    await handle.executeUpdate('decide', {
      args: [{ action: cmd.kind, phase, by: operator() } satisfies DecisionPayload],
    });
  } catch (err) {
    if (err instanceof WorkflowUpdateFailedError) {
      ctx.out(`redeploy ${cmd.kind} refused: ${err.cause?.message ?? err.message}`);
      return 1;
    }
    throw err;
  }
  const reporter = reporterFor(ctx, cmd.json);
  reporter.note(`[redeploy] ${cmd.runId}: ${cmd.kind} ${phase} (by ${operator()})`);
  if (cmd.detach) return 0;
  return follow(ctx, handle, reporter, pending.since);
}

export async function cancel(ctx: Context, runId: string): Promise<number> {
  const handle = ctx.client.workflow.getHandle(runId);
  const before = (await handle.describe()).status.name;
  if (before !== 'RUNNING') {
    ctx.out(`${runId} is already ${before.toLowerCase()}`);
    return 0;
  }
  await handle.cancel();
  ctx.out(`[redeploy] cancel requested for ${runId}; waiting for the running phase to stop…`);
  // The workflow waits for the phase's process group to be gone before it closes.
  const deadline = Date.now() + 60_000;
  while ((await handle.describe()).status.name === 'RUNNING' && Date.now() < deadline) await sleep(300);
  const state = await lastState(ctx, handle);
  if (state) await mirrorState(ctx.config, state, true);
  ctx.out(`[redeploy] ${runId} ${(await handle.describe()).status.name.toLowerCase()}`);
  return 0;
}

export async function list(ctx: Context, json: boolean): Promise<number> {
  const rows: { run_id: string; status: string; phase: string; started: string }[] = [];
  for await (const wf of ctx.client.workflow.list({ query: `WorkflowType = 'redeploy'`, pageSize: 20 })) {
    const phase = (wf.searchAttributes?.['RedeployPhase'] as string[] | undefined)?.[0] ?? '';
    rows.push({
      run_id: wf.workflowId,
      status: wf.status.name.toLowerCase(),
      phase,
      started: wf.startTime.toISOString(),
    });
    if (rows.length >= 20) break;
  }
  if (json) ctx.out(JSON.stringify(rows, null, 2));
  else {
    ctx.out(`${'RUN ID'.padEnd(26)}${'STATUS'.padEnd(12)}${'PHASE'.padEnd(12)}STARTED`);
    for (const r of rows)
      ctx.out(`${r.run_id.padEnd(26)}${r.status.padEnd(12)}${r.phase.padEnd(12)}${r.started}`);
    if (rows.length === 0) ctx.out('(no redeploy runs)');
  }
  return 0;
}

/** The task queue a command's run lives on: the existing run's, else the one a new run will get. */
export async function taskQueueOf(ctx: Context, cmd: Command): Promise<string> {
  const target = 'target' in cmd ? cmd.target : undefined;
  if ('runId' in cmd) {
    try {
      return (await ctx.client.workflow.getHandle(cmd.runId).describe()).taskQueue;
    } catch (err) {
      if (!(err instanceof WorkflowNotFoundError)) throw err;
    }
  }
  return taskQueueFor(ctx.config, target);
}

/** `redeploy report <run_id>`: phase timings and attempts, versions, verification, decisions — markdown and JSON. */
export async function report(ctx: Context, runId: string, json: boolean): Promise<number> {
  const handle = ctx.client.workflow.getHandle(runId);
  await handle.describe(); // not found → a clear error
  const state = await lastState(ctx, handle);
  if (!state) {
    ctx.out(`${runId}: no progress state readable (is a worker running?)`);
    return 1;
  }
  const { buildReport, reportMarkdown, writeReport } = await import('./report.js');
  const r = buildReport(state, (await handle.fetchHistory()).events ?? []);
  const files = await writeReport(ctx.config.stateDir, r);
  ctx.out(json ? JSON.stringify(r, null, 2) : reportMarkdown(r));
  if (!json) ctx.out(`(written to ${files.md} and ${files.json})`);
  return 0;
}
