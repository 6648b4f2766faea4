import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  INFISICAL_SCRIPTS,
  NO_NEEDS,
  chosenLane,
  deployLane,
  deployScriptEnv,
  planDeployNeeds,
  planInfisical,
  planRequiredEnv,
  planVerifyTargets,
  targetsNeedTree,
  type NeedsInput,
} from '../../src/core/plan.js';
import { LaneError } from '../../src/core/lanes.js';
import { SEED_INFISICAL, SYNC_ENV_PY, SYNC_ENV_SCRIPT } from '../../src/core/commands.js';

const POLICY = {
  DEV_COMPOSE_PROJECT: 'omnibase-infra',
  STABILITY_TEST_COMPOSE_PROJECT: 'omnibase-infra-stability-test',
  STABILITY_TEST_RUNTIME_MAIN_PORT: '18085',
};

const input = (over: Partial<NeedsInput> = {}): NeedsInput => ({
  env: { base: {}, fileVars: {}, fileExists: true, filePath: '/home/op/.omnibase/.env' },
  lane: undefined,
  provided: { OMNI_HOME: '/omni' },
  policy: POLICY,
  ...over,
});

const CONFIG = {
  healthEndpoints: { runtime: 'http://localhost:8085/health' },
  healthEndpointsSet: false,
  versionContainer: 'omninode-runtime',
  versionContainerSet: false,
};

describe('core/plan: what the activities execute and the dry-run prints', () => {
  it('chosenLane: --lane first, then ONEX_DEPLOY_LANE; an empty value is no lane', () => {
    assert.equal(chosenLane('prod', { ONEX_DEPLOY_LANE: 'dev' }), 'prod');
    assert.equal(chosenLane(undefined, { ONEX_DEPLOY_LANE: 'stability-test' }), 'stability-test');
    assert.equal(chosenLane('', { ONEX_DEPLOY_LANE: '' }), undefined);
    // The env as a phase sees it: the file's empty value over the process's is no lane (no fall-through).
    assert.equal(
      chosenLane(undefined, { ...{ ONEX_DEPLOY_LANE: 'prod' }, ...{ ONEX_DEPLOY_LANE: '' } }),
      undefined,
    );
  });

  it('deployLane: the lane from the policy; an unknown lane or a bad name is a LaneError', () => {
    assert.equal(deployLane(input())?.runtimeContainer, 'omninode-runtime');
    const st = deployLane(input({ lane: 'stability-test' }));
    assert.equal(st?.project, 'omnibase-infra-stability-test');
    assert.equal(st?.overlay, 'docker/docker-compose.stability-test.yml');
    assert.deepEqual(st?.endpoints, { 'omninode-stability-test-runtime': 'http://localhost:18085/health' });
    assert.throws(() => deployLane(input({ lane: 'nope' })), LaneError);
    assert.throws(() => deployLane(input({ lane: '../etc' })), LaneError);
    // A 2025 tree: no policy, only the dev lane, with no facts.
    assert.equal(deployLane(input({ policy: undefined })), null);
  });

  it('planDeployNeeds: compose and overlay references, env file over provided over policy over process', () => {
    const compose = 'x: ${POSTGRES_PASSWORD:?set it}\ny: ${OMNI_HOME:?}\nz: ${OPTIONAL?}\n# ${COMMENTED:?}\n';
    const overlay = 'a: ${LANE_TOKEN:?lane token}\n';
    const needs = planDeployNeeds(
      input({
        lane: 'stability-test',
        env: { base: { OPTIONAL: '' }, fileVars: {}, fileExists: true, filePath: '/e' },
      }),
      { compose, script: 'echo ${INFRA_HOST:?}', overlay },
    );
    assert.deepEqual(needs.checked, [
      'POSTGRES_PASSWORD',
      'OMNI_HOME',
      'OPTIONAL',
      'LANE_TOKEN',
      'INFRA_HOST',
    ]);
    assert.deepEqual(
      needs.missing.map((m) => m.name),
      ['POSTGRES_PASSWORD', 'LANE_TOKEN', 'INFRA_HOST'],
    );
    assert.match(needs.missing[1]?.why ?? '', /docker-compose\.stability-test\.yml: lane token/);
    // The file's value wins; HEALTH_CHECK_URL stands in for INFRA_HOST.
    const filled = planDeployNeeds(
      input({
        env: {
          base: { OPTIONAL: '' },
          fileVars: { POSTGRES_PASSWORD: 'p', HEALTH_CHECK_URL: 'http://h/health' },
          fileExists: true,
          filePath: '/e',
        },
      }),
      { compose, script: 'echo ${INFRA_HOST:?}', overlay: undefined },
    );
    assert.deepEqual(filled.missing, []);
  });

  it('planDeployNeeds: a script that sources the env file needs it to exist', () => {
    const needs = planDeployNeeds(
      input({ env: { base: {}, fileVars: {}, fileExists: false, filePath: '/missing.env' } }),
      {
        compose: undefined,
        script: 'source "$OMNIBASE_OPERATOR_ENV_FILE"\nREADBACK_EXPECTED_VERSIONS',
        overlay: undefined,
      },
    );
    assert.equal(needs.missing[0]?.name, 'env file');
    assert.match(needs.missing[0]?.why ?? '', /\/missing\.env/);
    assert.equal(needs.readsOperatorEnvFile, true);
    assert.equal(needs.readback, true);
  });

  it('deployScriptEnv: the env file, OMNI_HOME, the lane and its health URL, the read-back pins', () => {
    const needs = planDeployNeeds(input({ lane: 'stability-test' }), {
      compose: undefined,
      script: 'READBACK_EXPECTED_VERSIONS',
      overlay: undefined,
    });
    assert.deepEqual(
      deployScriptEnv({}, '/e', '/omni', needs, 'stability-test', { 'omninode-claude': '0.4.0' }),
      {
        OMNI_HOME: '/omni',
        OMNIBASE_OPERATOR_ENV_FILE: '/e',
        ONEX_DEPLOY_LANE: 'stability-test',
        OMNIBASE_INFRA_COMPOSE_PROJECT: 'omnibase-infra-stability-test',
        HEALTH_CHECK_URL: 'http://localhost:18085/health',
        READBACK_EXPECTED_VERSIONS: 'omninode-claude=0.4.0',
      },
    );
    // No lane asked for, no tree read: only what every run hands over.
    assert.deepEqual(deployScriptEnv({ OMNI_HOME: '/mine' }, '/e', '/omni', NO_NEEDS, undefined, {}), {
      OMNI_HOME: '/mine',
      OMNIBASE_OPERATOR_ENV_FILE: '/e',
    });
  });

  it('planVerifyTargets: explicit configuration, else the lane, else the seed defaults', () => {
    const lane = deployLane(input({ lane: 'stability-test' }));
    const fromLane = planVerifyTargets(CONFIG, lane, '/wt');
    assert.deepEqual(fromLane.endpoints, lane?.endpoints);
    assert.equal(fromLane.container, 'omninode-stability-test-runtime');
    assert.equal(fromLane.source, 'lane stability-test (/wt/docker/runtime-policy.env)');
    assert.equal(fromLane.laneEndpoints, 'stability-test');
    const set = { ...CONFIG, healthEndpointsSet: true, versionContainerSet: true };
    assert.equal(targetsNeedTree(set), false);
    assert.equal(targetsNeedTree(CONFIG), true);
    const explicit = planVerifyTargets(set, lane, '/wt');
    assert.deepEqual(explicit, {
      endpoints: CONFIG.healthEndpoints,
      container: 'omninode-runtime',
      source: 'REDEPLOY_HEALTH_ENDPOINTS',
    });
    assert.equal(planVerifyTargets(CONFIG, null, '/wt').source, 'the seed defaults');
  });

  it('planRequiredEnv: Infisical credentials only when INFISICAL_ADDR is set and not skipped', () => {
    assert.deepEqual(planRequiredEnv({}, false), {
      checked: ['POSTGRES_PASSWORD', 'KAFKA_BOOTSTRAP_SERVERS'],
      infisical: false,
    });
    const withAddr = planRequiredEnv({ INFISICAL_ADDR: 'https://i' }, false);
    assert.equal(withAddr.infisical, true);
    assert.ok(withAddr.checked.includes('INFISICAL_PROJECT_ID'));
    assert.equal(planRequiredEnv({ INFISICAL_ADDR: 'https://i' }, true).infisical, false);
    assert.equal(planRequiredEnv({ INFISICAL_ADDR: '' }, false).infisical, false);
  });

  it('planInfisical: the seed order, today’s .py between; none present, none chosen', () => {
    assert.deepEqual([...INFISICAL_SCRIPTS], [SYNC_ENV_SCRIPT, SYNC_ENV_PY, SEED_INFISICAL]);
    assert.equal(planInfisical([SEED_INFISICAL, SYNC_ENV_PY]), SYNC_ENV_PY);
    assert.equal(planInfisical([SEED_INFISICAL, SYNC_ENV_SCRIPT]), SYNC_ENV_SCRIPT);
    assert.equal(planInfisical([SEED_INFISICAL]), SEED_INFISICAL);
    assert.equal(planInfisical([]), undefined);
  });
});
