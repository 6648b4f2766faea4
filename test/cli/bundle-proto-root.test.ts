import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Issue 23: the CLI's copy of the SDK's protobuf root leaves out `coresdk` and `temporal.api.cloud`
// (scripts/bundle-proto-root.cjs, a webpack loader). Run here on the SDK's real json-module.js.
const require = createRequire(import.meta.url);
const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const loader = require(path.join(REPO, 'scripts/bundle-proto-root.cjs')) as (
  this: { resourcePath: string },
  source: string,
) => string;
const MODULE = require.resolve('@temporalio/proto/protos/json-module.js');
const SOURCE = fs.readFileSync(MODULE, 'utf8');
const transform = (source: string) => loader.call({ resourcePath: MODULE }, source);

/** The transformed module, evaluated as node would (its own protobufjs, a fresh root). */
function load(source: string) {
  const mod = { exports: {} as Record<string, unknown> };
  // A fresh root: the module registers itself in protobufjs's `roots` under this key.
  const protobuf = require('protobufjs/light') as { roots: Record<string, unknown> };
  delete protobuf.roots['__temporal'];
  new Function('require', 'module', 'exports', source)(require, mod, mod.exports);
  delete protobuf.roots['__temporal'];
  return mod.exports as unknown as { lookup(name: string): unknown; lookupType(name: string): unknown };
}

describe('bundle-proto-root: the CLI’s protobuf root', () => {
  it('leaves out coresdk and temporal.api.cloud and keeps what a client sends and reads', () => {
    const out = transform(SOURCE);
    assert.ok(out.length < SOURCE.length * 0.8, `${out.length} of ${SOURCE.length} bytes`);
    const root = load(out);
    assert.equal(root.lookup('coresdk'), null);
    assert.equal(root.lookup('temporal.api.cloud'), null);
    for (const kept of [
      'temporal.api.workflowservice.v1.StartWorkflowExecutionRequest',
      'temporal.api.workflowservice.v1.GetWorkflowExecutionHistoryResponse',
      'temporal.api.workflowservice.v1.UpdateWorkflowExecutionRequest',
      'temporal.api.history.v1.HistoryEvent',
      'temporal.api.failure.v1.Failure',
      'temporal.api.operatorservice.v1.ListSearchAttributesRequest',
      'google.protobuf.Duration',
      'grpc.health.v1.HealthCheckRequest',
    ])
      assert.ok(root.lookupType(kept), kept);
    // Every type kept resolves: no field names a removed one.
    (root as unknown as { resolveAll(): void }).resolveAll();
    // The whole root for comparison: the same module unchanged has both.
    const whole = load(SOURCE);
    assert.ok(whole.lookup('coresdk') && whole.lookup('temporal.api.cloud'));
  });

  it('fails the build when the SDK’s file changed shape or a kept type names a removed one', () => {
    assert.throws(() => transform(SOURCE.replace('.addJSON(', '.fromJSON(')), /expected one "\.addJSON/);
    assert.throws(() => transform(SOURCE.replace('"coresdk": {', '"coresdk2": {')), /no namespace coresdk/);
    // Payload is a field type all over the kept namespaces too.
    const dangling = SOURCE.replaceAll(
      '"type": "temporal.api.common.v1.Payload"',
      '"type": "coresdk.ActivityHeartbeat"',
    );
    assert.notEqual(dangling, SOURCE);
    assert.throws(() => transform(dangling), /kept types reference removed ones/);
  });
});
