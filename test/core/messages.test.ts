import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import {
  REDEPLOY_PHASE,
  decideSignal,
  decideUpdate,
  progressQuery,
  queuedSignal,
  releaseSignal,
} from '../../src/core/messages.js';

// core/messages.ts and core/search-attributes.ts build the message and search-attribute definitions
// themselves, so the CLI loads neither @temporalio/workflow nor @temporalio/common (issue 23). They must be
// exactly what the SDK's define* functions return: the workflow registers its handlers with them.
describe('message and search-attribute definitions', () => {
  it('equal what the SDK defines for the same names', () => {
    assert.deepEqual(progressQuery, defineQuery('progress'));
    assert.deepEqual(decideUpdate, defineUpdate('decide'));
    assert.deepEqual(decideSignal, defineSignal('decide'));
    assert.deepEqual(queuedSignal, defineSignal('queued'));
    assert.deepEqual(releaseSignal, defineSignal('release'));
    assert.deepEqual(REDEPLOY_PHASE, defineSearchAttributeKey('RedeployPhase', SearchAttributeType.KEYWORD));
  });
});
