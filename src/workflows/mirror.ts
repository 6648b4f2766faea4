import { proxySinks } from '@temporalio/workflow';
import type { MirrorSinks } from '../core/mirror-sinks.js';
import type { RedeployState } from '../core/state.js';

export type { MirrorSinks } from '../core/mirror-sinks.js';

const { mirror } = proxySinks<MirrorSinks>();

/**
 * Sink calls run after the activation: a copy taken now, so a later change in the same activation
 * does not rewrite what this call saw (the worker orders writes by `version`).
 */
export function mirrorState(state: RedeployState, skillContext: string | undefined): void {
  mirror.publish(JSON.parse(JSON.stringify(state)) as RedeployState, skillContext);
}
