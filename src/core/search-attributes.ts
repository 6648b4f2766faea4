import type { defineSearchAttributeKey } from '@temporalio/common';

/**
 * Keyword search attribute: the phase running now (or the outcome), to filter runs in the Web UI. What
 * defineSearchAttributeKey returns, built here: the CLI then loads no @temporalio/common of its own (issue
 * 23; test/core/messages.test.ts checks it equals the SDK's).
 */
export const REDEPLOY_PHASE: ReturnType<typeof defineSearchAttributeKey<'KEYWORD'>> = {
  name: 'RedeployPhase',
  type: 'KEYWORD',
};

/**
 * Every custom search attribute the workflow upserts, by name, with its type as `temporal` spells it
 * (`--search-attribute Name=Keyword`, `operator search-attribute create --type Keyword`). A server
 * without one fails every workflow task, so the dev server, the worker and the cluster setup register these.
 */
export const SEARCH_ATTRIBUTES = { [REDEPLOY_PHASE.name]: 'Keyword' } as const satisfies Record<
  string,
  'Keyword'
>;
