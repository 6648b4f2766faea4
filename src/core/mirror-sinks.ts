import type { Sinks } from '@temporalio/workflow';
import type { RedeployState } from './state.js';

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
