import { WorkflowNotFoundError } from '@temporalio/client';
import { CliError, EXIT_FAILED } from '../../core/errors.js';
import { prog } from '../../io/invocation.js';
import type { Command } from '../args.js';
import { cancel } from './cancel.js';
import { decide } from './decide.js';
import { list } from './list.js';
import { report } from './report.js';
import { resume } from './resume.js';
import { run } from './run.js';
import { status } from './status.js';
import { watch } from './watch.js';
import type { Context } from './shared.js';

export { taskQueueOf, type Context } from './shared.js';

/** A command named a run Temporal does not know. */
export class RunNotFound extends CliError {
  constructor(workflowId: string, cause: unknown) {
    super(`redeploy: no run ${workflowId} in Temporal (see \`${prog()} list\`)`, EXIT_FAILED, { cause });
  }
}

type ServerCommand = Exclude<Command, { kind: 'help' | 'version' | 'worker' | 'server' }>;

/** Runs one of the commands that talk to Temporal; an unknown run id becomes RunNotFound. */
export async function dispatch(ctx: Context, cmd: ServerCommand): Promise<number> {
  try {
    switch (cmd.kind) {
      case 'run':
        return await run(ctx, cmd.req, cmd);
      case 'resume':
        return await resume(ctx, cmd);
      case 'status':
        return await status(ctx, cmd.runId, cmd.json);
      case 'watch':
        return await watch(ctx, cmd.runId, cmd.json);
      case 'retry':
      case 'skip':
      case 'abort':
        return await decide(ctx, { ...cmd, kind: cmd.kind });
      case 'cancel':
        return await cancel(ctx, cmd.runId);
      case 'list':
        return await list(ctx, cmd.json);
      case 'report':
        return await report(ctx, cmd.runId, cmd.json);
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new RunNotFound(err.workflowId ?? '', err);
    throw err;
  }
}
