import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { invocationOf } from '../../src/io/invocation.js';
import { CLIENT, redeploy } from '../support/cli.js';

describe('hints name the CLI as the operator started it', () => {
  it('`node <client.js>`, relative inside the working directory, absolute (and quoted) outside it', () => {
    assert.equal(
      invocationOf({ script: '/srv/redeploy/dist/src/client.js', env: {}, cwd: '/srv/redeploy' }),
      'node dist/src/client.js',
    );
    assert.equal(
      invocationOf({ script: "/opt/it's here/dist/src/client.js", env: {}, cwd: '/home/op' }),
      `node '/opt/it'\\''s here/dist/src/client.js'`,
    );
  });

  it('`redeploy` only when PATH runs this very file; npm exec and a package script as npm takes them', async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-prog-'));
    try {
      const bin = path.join(dir, 'bin');
      await fs.mkdir(bin);
      // As `npm link` leaves it: an executable entry, linked from a bin directory.
      const entry = path.join(dir, 'client.js');
      await fs.copyFile(CLIENT, entry);
      await fs.chmod(entry, 0o755);
      await fs.symlink(entry, path.join(bin, 'redeploy'));
      const linked = path.join(bin, 'redeploy');
      assert.equal(invocationOf({ script: linked, env: { PATH: `/nowhere:${bin}` }, cwd: '/' }), 'redeploy');
      // The same link, not on PATH (node_modules/.bin): its path, which runs as typed.
      assert.equal(invocationOf({ script: linked, env: { PATH: '/usr/bin' }, cwd: dir }), './bin/redeploy');
      // A relative PATH entry is not trusted to be where the next shell looks.
      assert.equal(invocationOf({ script: linked, env: { PATH: 'bin' }, cwd: dir }), './bin/redeploy');
      assert.equal(
        invocationOf({ script: linked, env: { npm_command: 'exec', PATH: bin }, cwd: dir }),
        'npx redeploy',
      );
      const script = { npm_command: 'run-script', npm_lifecycle_event: 'rd' };
      assert.equal(
        invocationOf({
          script: CLIENT,
          env: { ...script, npm_lifecycle_script: 'node dist/src/client.js' },
          cwd: dir,
        }),
        'npm run rd --',
      );
      // A script that does more than start the CLI would not take the hint's arguments.
      assert.equal(
        invocationOf({
          script: CLIENT,
          env: { ...script, npm_lifecycle_script: 'npm run build && node x.js' },
          cwd: dir,
        }),
        `node ${CLIENT}`,
      );
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('started as `node …/client.js`, the CLI prints a hint that works when typed in the same shell', async () => {
    const r = await redeploy(['--versions'], { PATH: process.env['PATH'] ?? '/usr/bin' });
    assert.equal(r.exitCode, 2);
    const hint = /^Run `(.+) --help` for usage\.$/m.exec(r.stderr)?.[1];
    assert.equal(hint, `node ${path.relative(process.cwd(), CLIENT)}`, r.stderr);
    assert.ok(!r.stderr.includes('`redeploy --help`'), r.stderr);
    // Typed as printed, in the same directory: it runs.
    const typed = await execa('sh', ['-c', `${hint} --help`], { reject: false });
    assert.equal(typed.exitCode, 0, typed.stderr);
    assert.match(typed.stdout, /^Usage: redeploy --versions/);
  });
});
