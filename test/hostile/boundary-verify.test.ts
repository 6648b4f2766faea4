// Issue 21, items 2, 3, 4 and 7: the privilege boundary on the real dev server, real git repositories and
// real git configuration. An attacker who can write where the developer can (OMNI_HOME, its clones, the
// environment a worker starts from) plants code; each case asserts that no marker of foreign code appeared,
// that nothing outside redeploy's own directories changed, and that what was deployed is origin/<ref>
// plus the requested pins.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { DEFAULT_ENV } from '../support/sandbox.js';
import { createHarness, waitForState, waitingOn, type Harness } from '../support/harness.js';
import { abortRun, assertNoSecretLeak, FLAGS } from './support-provenance.js';

describe('hostile boundary: VERIFY redirects and passwords in URLs', { concurrency: 1 }, () => {
  let h: Harness;
  let other: http.Server;
  let redirector: http.Server;
  let otherHits = 0;
  const authHeaders: string[] = [];
  const HEALTH_PASSWORD = 'h3alth-Pass-7781';
  const INDEX_PASSWORD = 'second-Index-Pass-4412';
  const listen = async (s: http.Server): Promise<number> => {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
    return (s.address() as AddressInfo).port;
  };
  before(async () => {
    other = http.createServer((_q, res) => {
      otherHits++;
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"healthy"}');
    });
    const otherPort = await listen(other);
    redirector = http.createServer((q, res) => {
      authHeaders.push(q.headers.authorization ?? '');
      res.writeHead(302, { location: `http://127.0.0.1:${otherPort}/health` }).end();
    });
    const port = await listen(redirector);
    h = await createHarness('hostile-boundary-verify', {
      vars: {
        REDEPLOY_HEALTH_ENDPOINTS: JSON.stringify({
          'omninode-runtime': `http://probe:${HEALTH_PASSWORD}@127.0.0.1:${port}/health`,
        }),
      },
    });
  });
  after(async () => {
    await h.close();
    other.close();
    redirector.close();
  });

  it('a 302 to another origin is unhealthy; its password appears nowhere', async () => {
    const handle = await h.start({ flags: FLAGS });
    const waiting = await waitForState(handle, waitingOn('VERIFY'));
    assert.match(String(waiting.phases.VERIFY['error']), /omninode-runtime/);
    const detail = JSON.stringify(waiting.phases.VERIFY);
    assert.match(detail, /redirect to .*not followed/, detail);
    assert.equal(otherHits, 0, 'the other origin was never asked');
    // The URL's credentials went to the endpoint itself, as Basic auth (fetch refuses them in the URL).
    assert.ok(authHeaders.length > 0);
    assert.equal(authHeaders[0], `Basic ${Buffer.from(`probe:${HEALTH_PASSWORD}`).toString('base64')}`);
    await abortRun(handle, 'VERIFY');
    await assertNoSecretLeak(h, handle, HEALTH_PASSWORD);
  });

  it('the second URL of a comma-separated UV_INDEX keeps its password out of logs, state and history', async () => {
    const list = `https://u1:first-Index-Pass-1290@idx1.example/simple,https://u2:${INDEX_PASSWORD}@idx2.example/simple`;
    await h.sb.writeEnvFile({ ...DEFAULT_ENV, UV_INDEX: list });
    // pip names the index it is looking in, one URL at a time.
    await h.sb.setFault('deploy', {
      exitCode: 1,
      message: `Looking in indexes: https://u2:${INDEX_PASSWORD}@idx2.example/simple\nERROR: build failed`,
    });
    try {
      const handle = await h.start({ flags: FLAGS });
      const waiting = await waitForState(handle, waitingOn('DEPLOY'));
      assert.match(JSON.stringify(waiting.phases.DEPLOY['log_tail']), /https:\/\/u2:\*\*\*@idx2\.example/);
      await abortRun(handle, 'DEPLOY');
      await assertNoSecretLeak(h, handle, INDEX_PASSWORD);
    } finally {
      await h.sb.clearFault('deploy');
      await h.sb.writeEnvFile(DEFAULT_ENV);
    }
  });
});
