import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Phase } from '../core/phases.js';
import type { DecisionAction, RedeployState } from '../core/state.js';

/** Message names are public API like activity names: the CLI, the Web UI and `temporal workflow signal` use them. */

export interface DecisionPayload {
  action: DecisionAction;
  /** Must name the phase that is waiting, so a decision meant for one failure never lands on another. */
  phase: Phase;
  by?: string;
  reason?: string;
}

export interface DecisionAck {
  accepted: true;
  phase: Phase;
  action: DecisionAction;
}

/** The progress state (the legacy state file + additive fields). */
export const progressQuery = defineQuery<RedeployState>('progress');
/** Operator decision on a failed phase, validated (for the CLI). */
export const decideUpdate = defineUpdate<DecisionAck, [DecisionPayload]>('decide');
/** The same decision as a signal (Web UI, `temporal workflow signal --name decide`); invalid ones are logged and ignored. */
export const decideSignal = defineSignal<[DecisionPayload]>('decide');

/** Defined in core, beside the list every server registers; re-exported with the other definitions. */
export { REDEPLOY_PHASE } from '../core/search-attributes.js';
