// Prebuilds the workflow bundle at build time so workers skip webpack at start-up (~0.9 s → ~0.1 s).
import fs from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { WORKFLOWS_PATH, PREBUILT_BUNDLE, WORKFLOW_INTERCEPTORS } from '../dist/src/worker.js';

const { code } = await bundleWorkflowCode({
  workflowsPath: WORKFLOWS_PATH,
  workflowInterceptorModules: WORKFLOW_INTERCEPTORS,
  logger: { trace() {}, debug() {}, info() {}, warn: console.warn, error: console.error, log() {} },
});
fs.writeFileSync(PREBUILT_BUNDLE, code);
console.log(`workflow bundle: ${PREBUILT_BUNDLE} (${Math.round(code.length / 1024)} KiB)`);
