import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** Keyword search attribute: the phase running now (or the outcome), to filter runs in the Web UI. */
export const REDEPLOY_PHASE = defineSearchAttributeKey('RedeployPhase', SearchAttributeType.KEYWORD);

/**
 * Every custom search attribute the workflow upserts, by name, with its type as `temporal` spells it
 * (`--search-attribute Name=Keyword`, `operator search-attribute create --type Keyword`). A server
 * without one fails every workflow task, so the dev server, the worker and the cluster setup register these.
 */
export const SEARCH_ATTRIBUTES = { [REDEPLOY_PHASE.name]: 'Keyword' } as const satisfies Record<
  string,
  'Keyword'
>;
