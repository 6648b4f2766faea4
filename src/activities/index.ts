import type { PhaseActivityName } from '../core/phases.js';
import type { ActivityDeps } from './context.js';
import { makeDeploy } from './deploy.js';
import { makeEnvCheck } from './env-check.js';
import { makeInfisical } from './infisical.js';
import { makeNotify, makeNotifyFailure } from './notify.js';
import { makePinUpdate } from './pin-update.js';
import { makeSync } from './sync.js';
import { makeAwaitTargetTurn, makeTargetLockHolder } from './target-lock.js';
import { makeVerify } from './verify.js';
import { makeWorktree } from './worktree.js';

export type { ActivityDeps } from './context.js';
export type { NotifyInput, FailureNotice } from './notify.js';

/**
 * The activity registry. These keys are Temporal activity type names recorded in every workflow
 * history: renaming one breaks workflows already running. Add new names; never rename.
 */
export function createActivities(deps: ActivityDeps = {}) {
  return {
    sync: makeSync(deps),
    envCheck: makeEnvCheck(deps),
    worktree: makeWorktree(deps),
    pinUpdate: makePinUpdate(deps),
    deploy: makeDeploy(deps),
    infisical: makeInfisical(deps),
    verify: makeVerify(deps),
    notify: makeNotify(deps),
    // Not phases: the failure/abort/rollback message, who holds a target a run waits for, its turn.
    notifyFailure: makeNotifyFailure(deps),
    targetLockHolder: makeTargetLockHolder(deps),
    awaitTargetTurn: makeAwaitTargetTurn(deps),
  };
}

export type RedeployActivities = ReturnType<typeof createActivities>;

// Compile-time check: every phase's activity name in core/phases.ts is a key of this registry.
export type PhaseActivities = Pick<RedeployActivities, PhaseActivityName>;
