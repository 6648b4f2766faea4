// A real PostgreSQL (Debian's package) for the cluster tests: a throwaway cluster in a temp dir, owned by
// the unprivileged `postgres` user when the tests run as root (initdb refuses root), listening only on
// 127.0.0.1 at a free port, with password authentication over TCP as a real Temporal host would use.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { freePort } from '../../src/io/dev-server.js';

export interface Postgres {
  port: number;
  user: string;
  password: string;
  dir: string;
  /** The postmaster (leader of the group its backends are in), 0 when stopped. */
  pid(): number;
  /** Starts the server on the same data directory and port (after stop() or kill()). */
  start(): Promise<void>;
  /** SIGKILL to the postmaster and every backend at once: a crash, not a shutdown. */
  kill(): Promise<void>;
  /** Fast shutdown, then removes the directory. */
  close(): Promise<void>;
}

/** The newest Debian PostgreSQL server binaries (/usr/lib/postgresql/<major>/bin), or undefined. */
export function postgresBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  const majors = fs.existsSync(root) ? fs.readdirSync(root).filter((d) => /^\d+$/.test(d)) : [];
  const dir = majors
    .sort((a, b) => Number(b) - Number(a))
    .map((m) => path.join(root, m, 'bin'))
    .find((d) => fs.existsSync(path.join(d, 'initdb')));
  return dir;
}

async function owner(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined; // not root: run as ourselves
  const id = (flag: string) => execa('id', [flag, 'postgres']).then((r) => Number(r.stdout.trim()));
  return { uid: await id('-u'), gid: await id('-g') };
}

export async function startPostgres(): Promise<Postgres> {
  const bin = postgresBinDir();
  if (!bin) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const as = await owner();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'redeploy-pg-'));
  const data = path.join(dir, 'data');
  const user = 'temporal';
  const password = `pw-${process.pid}-${Date.now().toString(36)}`;
  fs.writeFileSync(path.join(dir, 'pw'), password, { mode: 0o600 });
  if (as) {
    fs.chownSync(dir, as.uid, as.gid);
    fs.chownSync(path.join(dir, 'pw'), as.uid, as.gid);
  }
  const opts = { ...(as ?? {}), cwd: dir };
  await execa(
    path.join(bin, 'initdb'),
    // Password (scram) over TCP: Temporal authenticates like on a real host; the socket is only ours.
    [
      '-D',
      data,
      '-U',
      user,
      `--pwfile=${path.join(dir, 'pw')}`,
      '--auth-host=scram-sha-256',
      '--auth-local=trust',
    ],
    { ...opts, reject: true, all: true, env: { LANG: 'C.UTF-8' } },
  ).catch((e: { all?: string }) => {
    throw new Error(`initdb failed:\n${e.all ?? String(e)}`);
  });
  const port = await freePort();
  let child: ChildProcess | undefined;
  const logFile = path.join(dir, 'postgres.log');

  const pg: Postgres = {
    port,
    user,
    password,
    dir,
    pid: () => (child?.exitCode === null ? (child.pid ?? 0) : 0),
    async start() {
      const log = fs.openSync(logFile, 'a');
      // Its own process group, so kill() takes the backends with the postmaster.
      child = spawn(
        path.join(bin, 'postgres'),
        ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1'],
        { ...opts, detached: true, stdio: ['ignore', log, log] },
      );
      fs.closeSync(log);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const r = await execa(path.join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port)], {
          reject: false,
        });
        if (r.exitCode === 0) return;
        if (child.exitCode !== null || Date.now() > deadline)
          throw new Error(`PostgreSQL did not start:\n${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
        await sleep(200);
      }
    },
    async kill() {
      const c = child;
      if (!c?.pid) return;
      const gone = new Promise((resolve) => c.once('exit', resolve));
      process.kill(-c.pid, 'SIGKILL');
      await gone;
      // The backends are in the same group; wait until none holds the data directory.
      for (let i = 0; i < 100 && (await groupAlive(c.pid)); i++) await sleep(50);
      child = undefined;
    },
    async close() {
      const c = child;
      if (c?.pid && c.exitCode === null) {
        const gone = new Promise((resolve) => c.once('exit', resolve));
        process.kill(c.pid, 'SIGINT'); // fast shutdown
        await Promise.race([gone, sleep(10_000)]);
        if (c.exitCode === null) await pg.kill();
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  await pg.start();
  return pg;
}

async function groupAlive(pgid: number): Promise<boolean> {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}
