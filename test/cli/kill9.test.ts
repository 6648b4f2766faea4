import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { legacyStateSchema } from '../../src/core/schemas.js';
import { CLIENT } from '../support/cli.js';
import { createHarness, waitForState, type Harness } from '../support/harness.js';

describe('the mirrored state file under kill -9', { concurrency: 1 }, () => {
  let h: Harness;
  before(async () => {
    h = await createHarness('kill9');
  });
  after(async () => {
    await h.sb.clearFault('deploy');
    await h.close();
  });

  it('is a whole, valid state file after every SIGKILL of the CLI mirroring it', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 20 });
    const handle = await h.start();
    const id = handle.workflowId;
    await waitForState(handle, (s) => s.phases.DEPLOY.status === 'running');
    const file = path.join(h.sb.stateDir, `${id}.json`);
    const temps = async () => (await fs.readdir(h.sb.stateDir)).filter((f) => f.endsWith('.tmp'));
    const watch = () =>
      execa(process.execPath, [CLIENT, 'watch', id], { env: h.vars, extendEnv: false, reject: false });
    // First a watch that is killed only once it has mirrored (start-up time varies with the machine's
    // load): there is a file for the later kills to tear, if they could.
    const first = watch();
    for (let i = 0; i < 300 && !(await fs.stat(file).catch(() => undefined)); i++) await sleep(100);
    first.kill('SIGKILL');
    await first;
    for (let i = 0; i < 12; i++) {
      const child = watch();
      // Kill at a different moment each time: before, during and after its writes.
      await sleep(200 + ((i * 173) % 1400)); // CLI start-up is 0.4–1.5 s, loaded or not
      child.kill('SIGKILL');
      await child;
      const text = await fs.readFile(file, 'utf8').catch(() => undefined);
      if (text === undefined) continue; // killed before its first write: no file is fine, half a file is not
      const parsed = legacyStateSchema.safeParse(JSON.parse(text));
      assert.ok(parsed.success, `kill ${i}: ${JSON.stringify(parsed.error?.issues)}`);
    }
    assert.ok(await fs.stat(file), 'at least one watch mirrored the state');
    // A killed writer may leave its temp file behind, never a torn state file; leftovers are ignorable.
    for (const t of await temps()) assert.match(t, new RegExp(`^\\.${id}\\.json\\.[0-9a-f]+\\.tmp$`));
    await handle.terminate('test done');
  });
});
