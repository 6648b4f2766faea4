import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RUN_OPTION_ROWS, RUN_OPTIONS, STATE_FLAGS, rowOf, typedFlags } from '../../src/core/flags.js';
import { flagsSchema } from '../../src/core/schemas.js';
import { USAGE } from '../../src/cli/usage.js';
import { flagsFrom, parseCommand } from '../../src/cli/args.js';
import { resumeCommand } from '../../src/core/state.js';
import { runMetadata } from '../../src/cli/commands/metadata.js';

const every = {
  skipSync: true,
  skipDockerfileUpdate: true,
  skipInfisical: true,
  verifyOnly: true,
  noWait: true,
  rollbackOnFailure: true,
};

describe('the flags table', () => {
  it('--help lists every run option of the table, with its placeholder', () => {
    for (const r of RUN_OPTION_ROWS) {
      const left = `--${r.name}${'arg' in r ? ` ${r.arg}` : ''}`;
      assert.ok(USAGE.includes(`${left} `), left);
    }
    for (const command of ['server [--stop]', 'worker [--target HOST]'])
      assert.ok(USAGE.includes(command), command);
  });

  it('parseArgs knows every row, booleans default to false', () => {
    assert.deepEqual(
      Object.keys(RUN_OPTIONS),
      RUN_OPTION_ROWS.map((r) => r.name),
    );
    assert.deepEqual(RUN_OPTIONS['skip-sync'], { type: 'boolean', default: false });
    assert.deepEqual(RUN_OPTIONS.help, { type: 'boolean', default: false, short: 'h' });
    assert.deepEqual(RUN_OPTIONS.lane, { type: 'string' });
  });

  it('every state flag has exactly one row and a schema entry; required in the schema iff always recorded', () => {
    assert.deepEqual(Object.keys(flagsSchema.shape).sort(), [...STATE_FLAGS].sort());
    for (const flag of STATE_FLAGS) {
      assert.equal(RUN_OPTION_ROWS.filter((r) => 'flag' in r && r.flag === flag).length, 1, flag);
      assert.equal(!flagsSchema.shape[flag].isOptional(), rowOf(flag).recorded === 'always', flag);
    }
  });

  it('records the seed four always, the others only when given, the decided pin policy never', () => {
    const plain = parseCommand(['--versions', 'a=1']);
    assert.equal(plain.kind, 'run');
    if (plain.kind !== 'run') return;
    assert.deepEqual(plain.req.flags, {
      skipSync: false,
      skipDockerfileUpdate: false,
      skipInfisical: false,
      verifyOnly: false,
    });
    const given = parseCommand(['--versions', 'a=1', '--no-wait', '--lane', 'prod', '--pin-policy', 'edit']);
    if (given.kind !== 'run') return assert.fail(given.kind);
    assert.deepEqual(given.req.flags, {
      skipSync: false,
      skipDockerfileUpdate: false,
      skipInfisical: false,
      verifyOnly: false,
      noWait: true,
      lane: 'prod',
    });
    assert.equal(given.pinPolicy, 'edit');
    // Key order is the table's STATE_FLAGS order, whatever the command line's.
    assert.deepEqual(Object.keys(flagsFrom({ lane: 'dev', 'no-wait': true })), [
      'skipSync',
      'skipDockerfileUpdate',
      'skipInfisical',
      'verifyOnly',
      'noWait',
      'lane',
    ]);
  });

  it("the resume command spells the rows marked for it; --no-wait is the resuming operator's choice", () => {
    assert.deepEqual(
      typedFlags(every, (r) => r.resumeSpells === true),
      [
        '--skip-sync',
        '--skip-dockerfile-update',
        '--skip-infisical',
        '--verify-only',
        '--rollback-on-failure',
      ],
    );
    const line = resumeCommand({
      run_id: 'redeploy-20260301-abc123',
      versions_requested: { a: '1' },
      flags: { ...every, skipSync: false },
      target: 'host-a',
    });
    assert.equal(
      line,
      'redeploy --resume redeploy-20260301-abc123 --versions "a=1" --skip-dockerfile-update --skip-infisical --verify-only --rollback-on-failure --target host-a',
    );
  });

  it('the run metadata lists every boolean flag set, in table order', () => {
    const { staticDetails } = runMetadata(
      {
        runId: 'redeploy-20260301-abc123',
        worktreeTicket: 't',
        versions: { a: '1' },
        flags: { ...every, verifyOnly: false, lane: 'dev' },
        startedBy: 'me',
      },
      'redeploy',
      undefined,
    );
    assert.match(
      staticDetails,
      /\*\*Flags:\*\* `--skip-sync` `--skip-dockerfile-update` `--skip-infisical` `--no-wait` `--rollback-on-failure`/,
    );
  });
});
