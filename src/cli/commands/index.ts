import { WorkflowNotFoundError } from '@temporalio/client';
import { CliError, EXIT_FAILED } from '../../core/errors.js';
import { prog } from '../../io/invocation.js';
import type { Command } from '../args.js';
import type { Context } from './shared.js';

// Each command's module is imported when it runs (issue 23): `status` does not load the run's attach
// and progress view, nor `run` the report's renderer.

export { taskQueueOf, type Context } from './shared.js';

/** A command named a run Temporal does not know. */
export class RunNotFound extends CliError {
  constructor(workflowId: string, cause: unknown) {
    super(`redeploy: no run ${workflowId} in Temporal (see \`${prog()} list\`)`, EXIT_FAILED, { cause });
  }
}

type ServerCommand = Exclude<Command, { kind: 'help' | 'version' | 'worker' | 'server' }>;

/** Loads a command's module ahead of dispatch (cli/main.ts does it while the connection is made). */
export async function preload(kind: ServerCommand['kind']): Promise<void> {
  if (kind === 'run') await import('./run.js');
  else if (kind === 'resume') await import('./resume.js');
}

/** Runs one of the commands that talk to Temporal; an unknown run id becomes RunNotFound. */
export async function dispatch(ctx: Context, cmd: ServerCommand): Promise<number> {
  try {
    switch (cmd.kind) {
      case 'run':
        return await (await import('./run.js')).run(ctx, cmd.req, cmd);
      case 'resume':
        return await (await import('./resume.js')).resume(ctx, cmd);
      case 'status':
        return await (await import('./status.js')).status(ctx, cmd.runId, cmd.json);
      case 'watch':
        return await (await import('./watch.js')).watch(ctx, cmd.runId, cmd.json);
      case 'retry':
      case 'skip':
      case 'abort':
        return await (await import('./decide.js')).decide(ctx, { ...cmd, kind: cmd.kind });
      case 'cancel':
        return await (await import('./cancel.js')).cancel(ctx, cmd.runId);
      case 'list':
        return await (await import('./list.js')).list(ctx, cmd.json);
      case 'report':
        return await (await import('./report.js')).report(ctx, cmd.runId, cmd.json);
    }
  } catch (err) {
    if (err instanceof WorkflowNotFoundError) throw new RunNotFound(err.workflowId ?? '', err);
    throw err;
  }
}
