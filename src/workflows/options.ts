import { ActivityCancellationType, proxyActivities, type ActivityOptions } from '@temporalio/workflow';
import type { RedeployActivities } from '../activities/index.js';
import type { OptionsGroup } from '../core/phases.js';

// ── Activity options, grouped by behaviour (core/phases.ts says which group each phase uses) ──────────
// Every command-running activity heartbeats every 2 s, so a heartbeat timeout finds a dead worker fast.
// WAIT_CANCELLATION_COMPLETED: a cancelled run is reported only once the process group is really gone.

/** Quick, local checks (ENV_CHECK, PIN_UPDATE): failures are mostly permanent and marked non-retryable. */
const QUICK: ActivityOptions = {
  startToCloseTimeout: '10 minutes', // script-mode PIN_UPDATE may `uv run` in a fresh worktree (5 min budget)
  // Without it a worker killed mid-phase is noticed only after the 10 minutes; commands heartbeat every 2 s.
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 3 },
};
/** git over the network (SYNC, WORKTREE): a fetch hiccup deserves a few spaced-out retries. */
const GIT: ActivityOptions = {
  startToCloseTimeout: '15 minutes',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '5s', backoffCoefficient: 2, maximumAttempts: 4 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** DEPLOY builds images: minutes, not seconds. Retries only cover the lock of another deploy and a dead worker. */
const LONG: ActivityOptions = {
  startToCloseTimeout: '60 minutes',
  // A killed worker is noticed in 20 s, not after the hour; the worker heartbeats at least every 3 s
  // (maxHeartbeatThrottleInterval), so a loaded machine has 17 s of slack.
  heartbeatTimeout: '20s',
  retry: { initialInterval: '10s', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 6 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** INFISICAL seeding is idempotent; a hiccup of the Infisical API is retried. */
const SEED: ActivityOptions = { ...GIT, startToCloseTimeout: '15 minutes' };
/** VERIFY polls until its own deadline (≤ 10 min); a retry would only double the wait, so one retry for a lost worker. */
const VERIFY: ActivityOptions = {
  startToCloseTimeout: '12 minutes',
  heartbeatTimeout: '30s',
  retry: { maximumAttempts: 2 },
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
};
/** NOTIFY mirrors the Slack node: 3 retries at 1, 2, 4 s (a 429's Retry-After overrides the interval). */
const NOTIFY: ActivityOptions = {
  startToCloseTimeout: '1 minute',
  heartbeatTimeout: '30s', // a Slack request ends within 10 s; the tier probe heartbeats
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumAttempts: 4, maximumInterval: '4s' },
};

/** Who holds a target: one quick describe call; a waiting run asks again on its next try. */
const LOCK_QUERY: ActivityOptions = {
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};
/** Waiting for a turn on the target: at most a minute per call (target-lock.ts), heartbeating (a dead worker shows). */
const TARGET_WAIT: ActivityOptions = {
  startToCloseTimeout: '3m',
  heartbeatTimeout: '30s',
  retry: { initialInterval: '1s', maximumAttempts: 3 },
};

/** The activities, one proxy per options group: `acts.long.deploy(…)` runs with LONG's options. */
export const acts = {
  quick: proxyActivities<RedeployActivities>(QUICK),
  git: proxyActivities<RedeployActivities>(GIT),
  long: proxyActivities<RedeployActivities>(LONG),
  seed: proxyActivities<RedeployActivities>(SEED),
  verify: proxyActivities<RedeployActivities>(VERIFY),
  notify: proxyActivities<RedeployActivities>(NOTIFY),
  lock: proxyActivities<RedeployActivities>(LOCK_QUERY),
  wait: proxyActivities<RedeployActivities>(TARGET_WAIT),
} satisfies Record<OptionsGroup | 'lock' | 'wait', RedeployActivities>;
