import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EnvFileError, parseEnvFile } from '../../src/io/env-file.js';
import { createMasker, maskDeep, secretValues } from '../../src/io/mask.js';
import { ConfigError, loadConfig, parseDuration } from '../../src/io/config.js';

describe('env file', () => {
  it('reads what `source` reads: export, quotes, comments, expansion', () => {
    const vars = parseEnvFile(
      [
        '# comment',
        'export POSTGRES_PASSWORD="p@ss w\\"rd"',
        "KAFKA_BOOTSTRAP_SERVERS='127.0.0.1:9092' # inline",
        'PLAIN=value # trailing comment',
        'DSN="postgresql://u:${POSTGRES_PASSWORD}@h/db"',
        'LITERAL="cost \\$5"',
        'EMPTY=',
        '',
      ].join('\n'),
      '/x/.env',
    );
    assert.deepEqual(vars, {
      POSTGRES_PASSWORD: 'p@ss w"rd',
      KAFKA_BOOTSTRAP_SERVERS: '127.0.0.1:9092',
      PLAIN: 'value',
      DSN: 'postgresql://u:p@ss w"rd@h/db',
      LITERAL: 'cost $5',
      EMPTY: '',
    });
  });

  it('refuses lines that are not assignments, naming line numbers but not contents', () => {
    assert.throws(
      () => parseEnvFile('OK=1\nsecret-garbage-value\nif true; then\n', '/x/.env'),
      (err: unknown) =>
        err instanceof EnvFileError &&
        /lines 2, 3 are not KEY=value/.test(err.message) &&
        !err.message.includes('garbage'),
    );
  });
});

describe('env file: what `source` would read differently is refused', () => {
  for (const line of [
    'A=${B:-localhost:9092}',
    'C="$(cat /etc/passwd)"',
    'D=a b',
    'E=`id`',
    'F=a\\$b',
    'G="${H#x}"',
  ]) {
    it(`refuses ${line}`, () => {
      assert.throws(() => parseEnvFile(`OK=1\n${line}\n`, '/x/.env'), /line 2 is not KEY=value/);
    });
  }
});

describe('masking', () => {
  it('masks by whole name words and URL passwords, not ordinary values of other variables', () => {
    const mask = createMasker(
      secretValues({
        GIT_AUTHOR_NAME: 'user',
        XDG_SESSION_CLASS: 'user',
        DATABASE_URL: 'postgres://app:db-Pass-42@db:5432/app',
        AWS_SECRET_ACCESS_KEY: 'aws-secret-1',
        SLACK_WEBHOOK_URL: 'https://hooks.example/T/B/X',
      }),
    );
    assert.equal(mask('user db-Pass-42 aws-secret-1 https://hooks.example/T/B/X'), 'user *** *** ***');
  });

  it('masks secret-named values (and their URL-encoded form), not others', () => {
    const secrets = secretValues({
      POSTGRES_PASSWORD: 'p@ss/word',
      KAFKA_BOOTSTRAP_SERVERS: 'kafka:9092',
      API_KEY: 'abc',
    });
    const mask = createMasker(secrets);
    assert.equal(
      mask('pw=p@ss/word dsn=u:p%40ss%2Fword@h kafka:9092 abc'),
      'pw=*** dsn=u:***@h kafka:9092 abc',
    );
    assert.deepEqual(maskDeep({ a: ['x p@ss/word'], n: 1 }, mask), { a: ['x ***'], n: 1 });
  });
});

describe('configuration', () => {
  it('defaults to the seed paths and honours ONEX_STATE_DIR', () => {
    const c = loadConfig({ HOME: '/home/op', ONEX_STATE_DIR: '/srv/onex' });
    assert.equal(c.omniHome, '/Volumes/PRO-G40/Code/omni_home');
    assert.equal(c.envFile, '/home/op/.omnibase/.env');
    assert.equal(c.stateDir, '/srv/onex/state/redeploy');
    assert.equal(c.skillResultsDir, '/srv/onex/skill-results');
    assert.equal(c.healthEndpoints['omninode-runtime'], 'http://localhost:8085/health');
    assert.equal(c.taskQueue, 'redeploy');
    assert.equal(loadConfig({ HOME: '/home/op' }).stateDir, '/home/op/.claude/state/redeploy');
  });

  it('lists every problem by variable name in one message', () => {
    assert.throws(
      () =>
        loadConfig({
          HOME: '/h',
          OMNI_HOME: 'relative/path',
          REDEPLOY_HEALTH_ENDPOINTS: '{"runtime":"ftp://x"}',
          REDEPLOY_DECISION_TIMEOUT: 'soon',
          TEMPORAL_ADDRESS: 'http://localhost',
          REDEPLOY_PIN_MODE: 'magic',
        }),
      (err: unknown) => {
        assert.ok(err instanceof ConfigError);
        assert.equal(err.problems.length, 5);
        for (const name of [
          'OMNI_HOME',
          'REDEPLOY_HEALTH_ENDPOINTS',
          'REDEPLOY_DECISION_TIMEOUT',
          'TEMPORAL_ADDRESS',
          'REDEPLOY_PIN_MODE',
        ]) {
          assert.match(err.message, new RegExp(`${name}: `));
        }
        return true;
      },
    );
  });

  it('bounds the target wait: a waiting run writes history on every try', () => {
    assert.equal(loadConfig({ HOME: '/h' }).targetWaitTimeoutMs, 2 * 3_600_000);
    assert.equal(
      loadConfig({ HOME: '/h', REDEPLOY_TARGET_WAIT_TIMEOUT: '12h' }).targetWaitTimeoutMs,
      12 * 3_600_000,
    );
    assert.throws(
      () => loadConfig({ HOME: '/h', REDEPLOY_TARGET_WAIT_TIMEOUT: '13h' }),
      /REDEPLOY_TARGET_WAIT_TIMEOUT: must be at most 12h/,
    );
  });

  it('parses durations', () => {
    assert.equal(parseDuration('24h'), 86_400_000);
    assert.equal(parseDuration('90s'), 90_000);
    assert.equal(parseDuration('500'), 500);
    assert.equal(parseDuration('0s'), undefined);
    assert.equal(parseDuration('1 week'), undefined);
  });
});
