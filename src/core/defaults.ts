/**
 * Defaults in one place: the CLI's configuration (io/config.ts), the workflow (when a start by hand
 * leaves a field out of the input) and the docs all read these. Constants only: the workflow bundle
 * imports this file.
 */

const HOUR_MS = 3_600_000;

/** REDEPLOY_DECISION_TIMEOUT: how long a failed phase waits for an operator's decision. */
export const DECISION_TIMEOUT_MS = 24 * HOUR_MS;

/** REDEPLOY_TARGET_WAIT_TIMEOUT: how long a run waits for its target to be free. */
export const TARGET_WAIT_TIMEOUT_MS = 2 * HOUR_MS;

/** The most REDEPLOY_TARGET_WAIT_TIMEOUT may be: a waiting run writes history on every try (~12 h nears 51,200 events). */
export const TARGET_WAIT_TIMEOUT_MAX_MS = 12 * HOUR_MS;

/** REDEPLOY_VERIFY_TIMEOUT: how long VERIFY polls the health endpoints. */
export const VERIFY_TIMEOUT_MS = 120_000;

/** The most REDEPLOY_VERIFY_TIMEOUT may be. */
export const VERIFY_TIMEOUT_MAX_MS = 10 * 60_000;
