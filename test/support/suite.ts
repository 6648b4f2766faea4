import { after, before } from 'node:test';
import { createHarness, type Harness } from './harness.js';

/**
 * A suite's harness: created in a `before` hook, closed in an `after` hook, both registered here in the
 * calling `describe`. What it returns forwards to that harness once the hook has run, so a suite writes
 * `const h = withHarness('name')` and uses `h` in its own hooks and tests (hooks run in the order registered).
 */
export function withHarness(name: string, opts: Parameters<typeof createHarness>[1] = {}): Harness {
  let harness: Harness | undefined;
  before(async () => {
    harness = await createHarness(name, opts);
  });
  after(() => harness?.close());
  return new Proxy({} as Harness, {
    get(_target, key) {
      if (!harness) throw new Error(`harness "${name}" used before its before() hook ran`);
      return Reflect.get(harness, key) as unknown;
    },
  });
}
