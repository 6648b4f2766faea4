import type { QueryDefinition, SignalDefinition, UpdateDefinition } from '@temporalio/common';
import type { Phase } from './details.js';
import type { DecisionAction } from './phase-status.js';
import type { DecisionPayload } from './run.js';
import type { RedeployState } from './state.js';
import type { QueueEntry } from './target-lock.js';

/**
 * Message names are public API like activity names: the CLI, the Web UI and `temporal workflow signal` use them.
 * Defined in core, where the workflows, the activities (the lock's `queued`) and the CLI all reach them.
 */

export type { DecisionPayload } from './run.js';

/**
 * What @temporalio/workflow's defineQuery/defineUpdate/defineSignal return (`{type, name}`), built here so
 * that the CLI, which only sends these, does not load @temporalio/workflow (20–50 ms of its start, issue
 * 23). test/core/messages.test.ts checks they equal the SDK's.
 */
const defineQuery = <Ret, Args extends unknown[] = []>(name: string) =>
  ({ type: 'query', name }) as QueryDefinition<Ret, Args>;
const defineUpdate = <Ret, Args extends unknown[] = []>(name: string) =>
  ({ type: 'update', name }) as UpdateDefinition<Ret, Args>;
const defineSignal = <Args extends unknown[] = []>(name: string) =>
  ({ type: 'signal', name }) as SignalDefinition<Args>;

export interface DecisionAck {
  accepted: true;
  phase: Phase;
  action: DecisionAction;
  /**
   * The `since` of the wait this decision answered (`pending_decision.since`). Absent from runs whose
   * worker predates it; a follower uses it not to take that wait, still shown a moment, for a new one.
   */
  since?: string;
}

/** The progress state (the legacy state file + additive fields). */
/**
 * The workflow type (the name of the workflow function, workflows/redeploy.ts): public API. The CLI starts
 * and lists runs by this name, so it never loads the workflow code (test/core/phase-table.test.ts checks
 * the two agree).
 */
export const WORKFLOW_TYPE = 'redeploy';

export const progressQuery = defineQuery<RedeployState>('progress');
/** Operator decision on a failed phase, validated (for the CLI). */
export const decideUpdate = defineUpdate<DecisionAck, [DecisionPayload]>('decide');
/** The same decision as a signal (Web UI, `temporal workflow signal --name decide`); invalid ones are logged and ignored. */
export const decideSignal = defineSignal<[DecisionPayload]>('decide');
/**
 * A run joining the queue for a target lock (sent to the lock workflow by the waiting activity). The lock
 * has no handler: the queue is read from its history once it closed (activities/target-lock.ts).
 */
export const queuedSignal = defineSignal<[QueueEntry]>('queued');
/**
 * Sent by the run holding a target lock when it is done with the target: the lock then completes while
 * the run is still open, so the run's history shows it completed (a lock ended by the parent-close
 * policy stays "Started" there). The lock's only handler.
 */
export const releaseSignal = defineSignal('release');

/** Defined in core, beside the list every server registers; re-exported with the other definitions. */
export { REDEPLOY_PHASE } from './search-attributes.js';
