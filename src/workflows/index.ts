export { redeploy } from './redeploy.js';
export { targetLock } from './target-lock.js';
