import { ActivityFailure, ApplicationFailure, TimeoutFailure } from '@temporalio/workflow';
import type { FailureDetails } from '../core/details.js';

/** A failed activity, decoded: its (already masked) message and what it reported beside it. */
export interface PhaseFailure {
  message: string;
  details: FailureDetails & Record<string, unknown>;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** The error message and details an activity failure carries (masked by the activity that threw). */
export function phaseFailure(label: string, err: unknown): PhaseFailure {
  const cause = err instanceof ActivityFailure ? err.cause : err;
  if (cause instanceof ApplicationFailure) {
    const reported: unknown = cause.details?.[0];
    return {
      message: cause.message,
      details: { ...(isObject(reported) ? reported : {}), error_type: cause.type ?? 'Error' },
    };
  }
  if (cause instanceof TimeoutFailure) {
    // The last heartbeat carries the command's latest output line: the best clue to what hung.
    const last: unknown = cause.lastHeartbeatDetails;
    const tail = typeof last === 'string' && last ? `; last output: ${last}` : '';
    return {
      message: `${label} timed out (${cause.timeoutType}): the worker may have died or the command hung${tail}`,
      details: { error_type: 'Timeout' },
    };
  }
  return {
    message: cause instanceof Error ? cause.message : String(cause),
    details: { error_type: 'Error' },
  };
}

/** A refused decision: its message is all the Web UI's result panel and the CLI show. */
export function refusal(message: string): ApplicationFailure {
  const err = ApplicationFailure.create({ type: 'InvalidDecision', message, nonRetryable: true });
  err.stack = ''; // the UI prints a failure's stack trace under its message; here it only hides it
  return err;
}
