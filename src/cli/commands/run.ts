import { contextId } from '../../io/skill-result.js';
import { targetLockId } from '../../core/target-lock.js';
import type { RunRequest } from '../args.js';
import { newRunId } from '../run-id.js';
import { requireProven } from '../proven.js';
import { launch, operator, runTaskQueue, type Context } from './shared.js';

/** `redeploy --versions …`: a new run under a new run id. */
export async function run(
  ctx: Context,
  req: RunRequest,
  opts: {
    json: boolean;
    detach: boolean;
    target: string | undefined;
    requireProven?: string | undefined;
  },
): Promise<number> {
  const runId = newRunId();
  // Before anything starts: the proving run, or a refusal naming what was looked for.
  const proven = opts.requireProven ? await requireProven(ctx, opts.requireProven, req.versions) : undefined;
  if (proven)
    ctx.out(
      `[redeploy] proven on ${proven.lane} by ${proven.run_id} (origin/main @ ${proven.commit.slice(0, 12)})`,
    );
  return launch(
    ctx,
    {
      runId,
      worktreeTicket: req.worktreeTicket ?? runId,
      versions: req.versions,
      flags: req.flags,
      ref: req.ref ?? ctx.config.worktreeRef,
      startedBy: operator(),
      skillContext: contextId(),
      ...(opts.target ? { target: opts.target } : {}),
      decisionTimeoutMs: ctx.config.decisionTimeoutMs,
      targetWaitTimeoutMs: ctx.config.targetWaitTimeoutMs,
      lockId: targetLockId(runTaskQueue(ctx, opts.target)),
      ...(proven ? { proven } : {}),
    },
    opts,
  );
}
