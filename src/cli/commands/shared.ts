import os from 'node:os';
import { WorkflowNotFoundError, type Client, type WorkflowHandle } from '@temporalio/client';
import type { Phase } from '../../core/phases.js';
import { initState, type RedeployInput, type RedeployState } from '../../core/state.js';
import { formatIssues, inputSchema } from '../../core/schemas.js';
import { busyMessage, targetLockId } from '../../core/target-lock.js';
import { targetOf, taskQueueFor } from '../../core/task-queue.js';
import type { redeploy } from '../../workflows/index.js';
import { WORKFLOW_TYPE } from '../../core/messages.js';
import type { Config } from '../../io/config.js';
import { workflowUrl } from '../../io/temporal.js';
import { prog } from '../../io/invocation.js';
import { describeTargetLock } from '../../io/target-lock.js';
import { resultFromState, writeSkillResult } from '../../io/skill-result.js';
import { attach, finalState, queryState } from '../attach.js';
import { JsonReporter, LineReporter, TtyReporter, type Carried, type Reporter } from '../progress.js';
import { UsageError, type Command } from '../args.js';
import { runMetadata } from './metadata.js';

/** What every command gets: the connected client, the configuration, and where its output goes. */
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

/** The task queue of a run on `target` (or the default host) under this configuration. */
export const runTaskQueue = (ctx: Context, target: string | undefined | null): string =>
  taskQueueFor(ctx.config.taskQueue, target);

export const operator = (): string => `${os.userInfo().username}@${os.hostname()}`;

/** A handle typed by the workflow it runs, so results and messages carry their types. */
export const runHandle = (ctx: Context, runId: string): WorkflowHandle<typeof redeploy> =>
  ctx.client.workflow.getHandle<typeof redeploy>(runId);

/** `carried`: a new run's carried phases (launch), else the run is under way and this view attaches to it. */
export async function reporterFor(
  ctx: Context,
  json: boolean,
  carried: Carried = 'attach',
): Promise<Reporter> {
  if (json) return new JsonReporter(ctx.out, carried);
  if (ctx.tty) {
    const { fitColumns } = await import('../fit-columns.js'); // a TTY's only (string-width, Intl.Segmenter)
    return new TtyReporter(process.stdout, fitColumns, process.env, Date.now, carried);
  }
  return new LineReporter(ctx.out, carried);
}

/** Follows a run until it ends, waits for a decision, or the operator detaches; returns the exit code. */
export async function follow(
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
      `Detached from ${handle.workflowId}; ` +
        // This CLI was the run's only worker (a server redeploy did not start): say so, don't promise.
        (ctx.localWorker
          ? `this CLI was its worker, so the run pauses until a worker polls (${prog()} worker). `
          : 'the run goes on. ') +
        `Re-attach: ${prog()} watch ${handle.workflowId} · cancel: ${prog()} cancel ${handle.workflowId}`,
    );
    return 130;
  }
  reporter.finished(r.state, r.exitCode);
  return r.exitCode;
}

/** The last state of a run, closed or open: query, else (closed only) its result/failure or the mirrored file. */
export async function lastState(ctx: Context, handle: WorkflowHandle): Promise<RedeployState | undefined> {
  const queried = await queryState(handle);
  if (queried) return queried;
  // result() would wait for a running run to end: only a closed one is asked for it.
  if ((await handle.describe()).status.name === 'RUNNING') return undefined;
  return finalState(handle, ctx.config);
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
    const host = targetOf(taskQueue);
    const target = host !== undefined ? ` --target ${host}` : '';
    reporter.note(
      `[redeploy] no worker is polling task queue ${taskQueue}: the run waits until one starts (\`${prog()} worker${target}\`, or \`${prog()} server\` locally)`,
    );
  }
}

/** Starts a run (new, or a resume's new attempt) and follows it unless detached. */
export async function launch(
  ctx: Context,
  input: RedeployInput,
  opts: { json: boolean; detach: boolean },
  settled: Phase[] = [],
): Promise<number> {
  // Inputs built from a state file (an old skill's run) are checked like command-line ones: nothing
  // with a bad ticket or version starts.
  const checked = inputSchema.safeParse(input);
  if (!checked.success) throw new UsageError(formatIssues(checked.error, `run ${input.runId}: `));
  const taskQueue = runTaskQueue(ctx, input.target);
  if (input.flags.noWait && !input.flags.verifyOnly) {
    // Refused before anything starts; the workflow checks again (another run may start in between).
    const holder = await describeTargetLock(ctx.client, input.lockId ?? targetLockId(taskQueue));
    if (holder) {
      const message = busyMessage(input.target, holder, prog());
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
  // By type name: the CLI never loads the workflow code (its import graph costs start-up).
  const handle = await ctx.client.workflow.start<typeof redeploy>(WORKFLOW_TYPE, {
    workflowId: input.runId,
    taskQueue,
    args: [input],
    ...runMetadata(input, taskQueue, ctx.argv),
  });
  const reporter = await reporterFor(ctx, opts.json, settled);
  reporter.started(input.runId, workflowUrl(ctx.config, input.runId));
  await warnIfNoWorker(ctx, reporter, taskQueue, opts.detach);
  if (opts.detach) {
    reporter.note(`Detached: follow with \`${prog()} watch ${input.runId}\``);
    return 0;
  }
  return follow(ctx, handle, reporter);
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
  return runTaskQueue(ctx, target);
}
