import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { readRegularFile, UnsafeFileError } from '../../src/io/safe-read.js';
import { createMasker, secretValues, weakSecrets } from '../../src/io/mask.js';
import { boundString, boundValue, MAX_PAYLOAD } from '../../src/io/bound.js';

describe('reads that cannot hang, masks that do not change data, payloads that fit', () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-safe-read-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  const reason = async (p: Promise<unknown>) =>
    p.then(
      () => 'read',
      (e: unknown) => (e instanceof UnsafeFileError ? e.reason : String(e)),
    );

  it('reads a regular file; a missing one is undefined', async () => {
    await fs.writeFile(path.join(dir, 'ok'), 'A=1\n');
    assert.equal(await readRegularFile(path.join(dir, 'ok'), { maxBytes: 100 }), 'A=1\n');
    assert.equal(await readRegularFile(path.join(dir, 'missing'), { maxBytes: 100 }), undefined);
  });

  it('refuses a FIFO without blocking (no writer ever comes), a directory, a device, a big file', async () => {
    await execa('mkfifo', [path.join(dir, 'fifo')]);
    await fs.mkdir(path.join(dir, 'd'));
    await fs.writeFile(path.join(dir, 'big'), 'x'.repeat(101));
    assert.equal(await reason(readRegularFile(path.join(dir, 'fifo'), { maxBytes: 100 })), 'not_regular');
    assert.equal(await reason(readRegularFile(path.join(dir, 'd'), { maxBytes: 100 })), 'not_regular');
    assert.equal(await reason(readRegularFile('/dev/zero', { maxBytes: 100 })), 'not_regular');
    assert.equal(await reason(readRegularFile(path.join(dir, 'big'), { maxBytes: 100 })), 'too_large');
  });

  it('noFollow refuses a symlink, even to a regular file', async () => {
    await fs.symlink(path.join(dir, 'ok'), path.join(dir, 'link'));
    assert.equal(
      await reason(readRegularFile(path.join(dir, 'link'), { maxBytes: 100, noFollow: true })),
      'symlink',
    );
    assert.equal(await readRegularFile(path.join(dir, 'link'), { maxBytes: 100 }), 'A=1\n');
  });

  it('a masker leaves protected configuration values intact and masks the secret elsewhere', () => {
    const mask = createMasker(secretValues({ POSTGRES_PASSWORD: '2026' }), [
      '/srv/omni_worktrees/OMN-2026/omnibase_infra',
    ]);
    assert.equal(
      mask('cd /srv/omni_worktrees/OMN-2026/omnibase_infra && echo pw=2026'),
      'cd /srv/omni_worktrees/OMN-2026/omnibase_infra && echo pw=***',
    );
    // Without protection the path itself would be changed (the bug this prevents).
    assert.equal(createMasker(['2026'])('/x/OMN-2026'), '/x/OMN-***');
    // A protected string equal to the secret protects nothing.
    assert.equal(createMasker(['s3cr3t-value'], ['s3cr3t-value'])('s3cr3t-value'), '***');
  });

  it('base64 of a long secret is masked; weak secrets are reported by name only', () => {
    const secret = 'correct-horse-battery';
    const mask = createMasker(secretValues({ API_TOKEN: secret }));
    assert.equal(
      mask(`Authorization: Basic ${Buffer.from(secret).toString('base64')}`),
      'Authorization: Basic ***',
    );
    const weak = weakSecrets(
      {
        POSTGRES_PASSWORD: 'abc123',
        SLACK_BOT_TOKEN: 'xoxb-long-enough-token',
        ONEX_TIER: 'x',
        DB_PASS: 'omni_home',
      },
      ['/srv/omni_home'],
    );
    assert.deepEqual(
      weak.map((w) => w.name),
      ['POSTGRES_PASSWORD', 'DB_PASS'],
    );
    assert.ok(!JSON.stringify(weak).includes('abc123'));
  });

  it('bounds strings, lists and whole payloads, saying where the rest is', () => {
    const long = 'x'.repeat(100_000);
    const cut = boundString(long, 1000, '/log/DEPLOY.log');
    assert.ok(cut.length < 1200);
    assert.match(cut, /characters cut here; the whole text is in \/log\/DEPLOY\.log/);
    assert.equal(boundString('short'), 'short');
    const many = boundValue({ tail: Array.from({ length: 1000 }, () => 'y'.repeat(7000)) });
    assert.ok(JSON.stringify(many).length <= MAX_PAYLOAD * 1.1, String(JSON.stringify(many).length));
    assert.deepEqual(boundValue({ a: 1, b: 'z' }), { a: 1, b: 'z' });
  });
});
