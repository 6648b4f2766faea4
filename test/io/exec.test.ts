import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { groupAlive, runCommand } from '../../src/io/exec.js';
import { createMasker } from '../../src/io/mask.js';

describe('running commands', { concurrency: 1 }, () => {
  let dir: string;
  const env = { PATH: process.env['PATH'] ?? '' };
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-exec-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('masks output line by line into the log and the tail; the result keeps the raw output for parsing', async () => {
    const logFile = path.join(dir, 'a.log');
    const r = await runCommand(
      { file: 'bash', args: ['-c', 'echo "pw=hunter22"; echo err hunter22 >&2; exit 3'], cwd: dir },
      { env, mask: createMasker(['hunter22']), logFile },
    );
    assert.equal(r.exitCode, 3);
    // Raw: callers parse it (masking must not change data) and never return it unmasked.
    assert.equal(r.stdout, 'pw=hunter22');
    assert.deepEqual(r.tail, ['pw=***', 'err ***']);
    const log = await fs.readFile(logFile, 'utf8');
    assert.ok(!log.includes('hunter22'));
    assert.equal((await fs.stat(logFile)).mode & 0o777, 0o600);
  });

  it('output over the limit is a failure, not a short read that passes for the whole', async () => {
    // 70 MB in 1 KB lines (the limit is 64 MiB): the command itself exits 0.
    const r = await runCommand(
      {
        file: 'bash',
        args: ['-c', `yes "$(head -c 1023 /dev/zero | tr '\\0' a)" | head -c 70000000; exit 0`],
        cwd: dir,
      },
      { env, mask: (s) => s, logFile: path.join(dir, 'big.log') },
    );
    assert.equal(r.exitCode, undefined, 'not exit 0: the caller would parse a cut-off output');
    assert.match(r.tail.join('\n'), /printed more than \d+ bytes: output cut off, counted as failed/);
  });

  it('a timeout stops the whole process group, grandchildren included', async () => {
    const pidFile = path.join(dir, 'grand.pid');
    const r = await runCommand(
      { file: 'bash', args: ['-c', `sleep 30 & echo $! > ${pidFile}; sleep 30`], cwd: dir },
      {
        env,
        mask: (s) => s,
        logFile: path.join(dir, 't.log'),
        timeoutMs: 500,
        pidFile: path.join(dir, 't.pgid'),
      },
    );
    assert.equal(r.timedOut, true);
    const grandchild = Number(await fs.readFile(pidFile, 'utf8'));
    assert.throws(() => process.kill(grandchild, 0), /ESRCH/, 'the background sleep is gone');
  });

  it('an abort before the start starts nothing', async () => {
    const marker = path.join(dir, 'started');
    const r = await runCommand(
      { file: 'bash', args: ['-c', `touch ${marker}`], cwd: dir },
      { env, mask: (s) => s, logFile: path.join(dir, 'b.log'), signal: AbortSignal.abort() },
    );
    assert.equal(r.aborted, true);
    await assert.rejects(fs.stat(marker));
  });

  it('an abort stops the process group', async () => {
    const ac = new AbortController();
    const pgidFile = path.join(dir, 'c.pgid');
    const running = runCommand(
      { file: 'bash', args: ['-c', 'sleep 30 & wait'], cwd: dir },
      { env, mask: (s) => s, logFile: path.join(dir, 'c.log'), signal: ac.signal, pidFile: pgidFile },
    );
    let pgid = 0;
    while (!pgid) pgid = Number(await fs.readFile(pgidFile, 'utf8').catch(() => '0'));
    ac.abort();
    const r = await running;
    assert.equal(r.aborted, true);
    assert.equal(groupAlive(pgid), false);
  });

  it('reports a command that cannot start', async () => {
    const r = await runCommand(
      { file: './no-such-script.sh', args: [], cwd: dir },
      { env, mask: (s) => s, logFile: path.join(dir, 'd.log') },
    );
    assert.equal(r.exitCode, undefined);
    assert.match(r.spawnError ?? '', /ENOENT/);
  });
});
