import { proxySinks, type Sinks } from '@temporalio/workflow';
import type { RedeployState } from '../core/state.js';

/**
 * The host's mirror of a run (legacy state file, skill result), written by the worker that runs it.
 * A sink, not an activity: it runs in the worker after each workflow activation, outside the history
 * (no command, nothing to replay), and is not called while a history is replayed.
 */
export interface MirrorSinks extends Sinks {
  mirror: {
    /**
     * Every published state change; the worker writes it (io/mirror-sink.ts). `skillContext`: the
     * starting CLI's context id, under which the skill result is written.
     */
    publish(state: RedeployState, skillContext: string | undefined): void;
  };
}

const { mirror } = proxySinks<MirrorSinks>();

/**
 * Sink calls run after the activation: a copy taken now, so a later change in the same activation
 * does not rewrite what this call saw (the worker orders writes by `version`).
 */
export function mirrorState(state: RedeployState, skillContext: string | undefined): void {
  mirror.publish(JSON.parse(JSON.stringify(state)) as RedeployState, skillContext);
}
