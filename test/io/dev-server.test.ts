import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { freePort, startDevServer } from '../../src/io/dev-server.js';

/** A `temporal` that dies at start-up the way start-dev does on a taken port: a message, then a long trace. */
async function dyingCli(dir: string): Promise<string> {
  const file = path.join(dir, 'temporal');
  const trace = 'goroutine 1 [running]:\\n\\tgo.uber.org/dig.paramList.BuildList(...)\\n';
  await fs.writeFile(
    file,
    `#!/bin/sh\necho "$*" >> "${dir}/calls"\necho "panic: listen tcp 127.0.0.1:1234: bind: address already in use"\n` +
      `i=0; while [ $i -lt 200 ]; do printf '${trace}'; i=$((i+1)); done\nexit 2\n`,
    { mode: 0o755 },
  );
  return file;
}

describe('dev server start-up', () => {
  it('picks ports below the kernel ephemeral range, free to listen on', async () => {
    const low = Number((await fs.readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8')).split(/\s+/)[0]);
    // A range tuned to start at or below 10000 leaves nothing below it: freePort() then takes any free port.
    const below = low > 10_001;
    for (let i = 0; i < 20; i++) {
      const port = await freePort();
      if (below) assert.ok(port >= 10_000 && port < low, `${port} is outside [10000, ${low})`);
      await new Promise<void>((resolve, reject) => {
        const server = net.createServer().once('error', reject);
        server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
      });
    }
  });

  it('tries again on new ports when start-dev dies at start-up, and reports the panic message, not only the trace', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-devserver-'));
    try {
      const cli = await dyingCli(dir);
      const logged: string[] = [];
      await assert.rejects(startDevServer({ cli, log: (l) => logged.push(l) }), (err: Error) => {
        assert.match(
          err.message,
          /^temporal server start-dev exited early:\npanic: listen tcp .*address already in use/,
        );
        assert.match(err.message, /\[…\]/, 'the middle of a long trace is cut');
        assert.ok(err.message.length < 9000, `${err.message.length} characters`);
        return true;
      });
      const calls = (await fs.readFile(path.join(dir, 'calls'), 'utf8')).trim().split('\n');
      assert.equal(calls.length, 3, 'three attempts');
      const ports = calls.map((c) => c.match(/--port (\d+)/)?.[1]);
      assert.equal(new Set(ports).size, 3, `a new port each time: ${ports.join(', ')}`);
      assert.equal(logged.filter((l) => /trying again on other ports/.test(l)).length, 2);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('does not move a port the caller named', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-devserver-'));
    try {
      const cli = await dyingCli(dir);
      await assert.rejects(startDevServer({ cli, port: await freePort() }), /exited early/);
      const calls = (await fs.readFile(path.join(dir, 'calls'), 'utf8')).trim().split('\n');
      assert.equal(calls.length, 1);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
