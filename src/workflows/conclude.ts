import type {
  ConcludeActivationInput,
  ConcludeActivationOutput,
  Next,
  WorkflowInternalsInterceptor,
  WorkflowInterceptorsFactory,
} from '@temporalio/workflow';

/**
 * Work that shows a run's latest state (its current details, the host's mirror) is done once per
 * activation, at its end, not on every change within it: a workflow task that applies a phase's result
 * and starts the next phase showed (and mirrored) both states; only the second is still visible once the
 * task completes. Neither is a history command, so recorded histories replay unchanged. Module state is
 * per workflow run (the SDK isolates each run's module cache).
 */

/** What to do at the end of this activation (a Set: one entry however often it was asked for). */
const pending = new Set<() => void>();
/** Whether the interceptor below is in this bundle; without it, `atActivationEnd` runs at once. */
let installed = false;

/** Runs `show` at the end of the current activation (at once when the interceptor is not installed). */
export function atActivationEnd(show: () => void): void {
  if (installed) pending.add(show);
  else show();
}

function flush(): void {
  for (const show of pending) show();
  pending.clear();
}

/** Runs the deferred work after the activation's commands were collected (it adds none). */
class ActivationEnd implements WorkflowInternalsInterceptor {
  concludeActivation(
    input: ConcludeActivationInput,
    next: Next<WorkflowInternalsInterceptor, 'concludeActivation'>,
  ): ConcludeActivationOutput {
    const out = next(input);
    flush();
    return out;
  }
}

export const interceptors: WorkflowInterceptorsFactory = () => {
  installed = true;
  return { internals: [new ActivationEnd()] };
};
