import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { targetOf, taskQueueFor } from '../../src/core/task-queue.js';
import { flagSkip, PHASES } from '../../src/core/phases.js';
import { CliError } from '../../src/core/errors.js';
import { UsageError } from '../../src/cli/args.js';
import { ConfigError } from '../../src/io/config.js';
import { TemporalRefused, TemporalUnreachable } from '../../src/io/temporal.js';

describe('task queue names', () => {
  it('one queue per host under REDEPLOY_TASK_QUEUE; the default host is the base queue', () => {
    assert.equal(taskQueueFor('redeploy', undefined), 'redeploy');
    assert.equal(taskQueueFor('redeploy', null), 'redeploy');
    assert.equal(taskQueueFor('ops-q', 'host-a'), 'ops-q@host-a');
  });

  it('reads the host back from a queue name', () => {
    assert.equal(targetOf(taskQueueFor('ops-q', 'host-a')), 'host-a');
    assert.equal(targetOf('ops-q'), undefined);
  });
});

describe('flagSkip', () => {
  const none = { skipSync: false, skipDockerfileUpdate: false, skipInfisical: false, verifyOnly: false };
  const skipped = (flags: typeof none) => PHASES.filter((p) => flagSkip(p, flags) === 'skipped_by_flag');

  it('skips nothing without flags', () => assert.deepEqual(skipped(none), []));

  it('each --skip-* flag skips its own phase only', () => {
    assert.deepEqual(skipped({ ...none, skipSync: true }), ['SYNC']);
    assert.deepEqual(skipped({ ...none, skipDockerfileUpdate: true }), ['PIN_UPDATE']);
    assert.deepEqual(skipped({ ...none, skipInfisical: true }), ['INFISICAL']);
  });

  it('--verify-only skips every phase but VERIFY', () => {
    assert.deepEqual(
      skipped({ ...none, verifyOnly: true }),
      PHASES.filter((p) => p !== 'VERIFY'),
    );
  });
});

describe('CliError: what the CLI prints and exits with', () => {
  it('usage errors: one line per problem, the help hint, exit 2', () => {
    const e = new UsageError(['--versions is required', '--phase X is not a phase']);
    assert.ok(e instanceof CliError);
    assert.equal(e.exitCode, 2);
    assert.deepEqual(e.lines(), [
      'redeploy: --versions is required',
      'redeploy: --phase X is not a phase',
      'Run `redeploy --help` for usage.',
    ]);
  });

  it('configuration errors: the message as is, exit 2; the name activities match on stays', () => {
    const e = new ConfigError(['REDEPLOY_X: bad']);
    assert.equal(e.exitCode, 2);
    assert.equal(e.name, 'ConfigError');
    assert.deepEqual(e.lines(), ['Invalid configuration:\n  - REDEPLOY_X: bad']);
  });

  it('Temporal unreachable prints its message, refused is prefixed; both exit 1', () => {
    const down = new TemporalUnreachable('127.0.0.1:1', new Error('refused'));
    assert.equal(down.exitCode, 1);
    assert.match(down.lines()[0] ?? '', /^Cannot reach Temporal at 127\.0\.0\.1:1\./);
    const refused = new TemporalRefused('h:7233', 'it requires TLS', undefined);
    assert.deepEqual(refused.lines(), [
      'redeploy: Temporal at h:7233 refused the connection: it requires TLS',
    ]);
  });
});
