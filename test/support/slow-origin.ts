import net from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa, type ResultPromise } from 'execa';
import { freePort } from '../../src/io/dev-server.js';
import type { Sandbox } from './sandbox.js';

/** A `git fetch` in `ps -o pid=,args=` output: what a phase's group runs while the origin holds it. */
export const HELD_FETCH = /^\s*\d+ git .*fetch/m;

/**
 * A git origin as slow as a stalled network, for the tests that need WORKTREE's fetch in flight: a real
 * `git daemon` on 127.0.0.1 serving the sandbox's bare origins, behind a TCP proxy that holds each new
 * connection open (accepted, nothing answered) until `release()`. Git's hooks and a `git-upload-pack` on
 * PATH can no longer slow WORKTREE down (io/git.ts), but the network still can.
 */
export interface SlowOrigin {
  /** The git:// URL of a repository under the served directory, through the proxy. */
  url(repo: string): string;
  /** Resolves once `count` connections are held (a git command is waiting on the origin). */
  waitHeld(count?: number): Promise<void>;
  /**
   * From now on the origin answers new connections. Held ones stay held until `close()`: a git left
   * waiting on one (a killed worker's orphan) ends only if redeploy stops it, which the tests check.
   */
  release(): void;
  close(): Promise<void>;
}

/**
 * Serves `baseDir`'s repositories (`<baseDir>/<repo>.git`). `pass`: how many connections go through
 * before the holding starts (SYNC's `git pull` of the same origin comes before WORKTREE's fetch).
 */
export async function slowOrigin(baseDir: string, { pass = 0 } = {}): Promise<SlowOrigin> {
  const daemonPort = await freePort();
  const daemon: ResultPromise = execa(
    'git',
    [
      'daemon',
      '--reuseaddr',
      '--listen=127.0.0.1',
      `--port=${daemonPort}`,
      `--base-path=${baseDir}`,
      '--export-all',
      '--informative-errors',
    ],
    { reject: false, stdio: 'ignore' },
  );
  await listening(daemonPort, daemon);

  let released = false;
  let seen = 0;
  const held: net.Socket[] = [];
  const open = new Set<net.Socket>();
  const forward = (client: net.Socket) => {
    const upstream = net.connect(daemonPort, '127.0.0.1');
    open.add(upstream);
    upstream.on('close', () => open.delete(upstream));
    // A killed git (the test's cancel or SIGKILL) resets its side: end the other, never throw.
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream).pipe(client);
  };
  const proxy = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    client.on('error', () => undefined);
    seen++;
    if (released || seen <= pass) forward(client);
    else held.push(client); // its request stays unread in the socket until close()
  });
  const proxyPort = await freePort();
  await new Promise<void>((resolve, reject) => {
    proxy.once('error', reject);
    proxy.listen(proxyPort, '127.0.0.1', resolve);
  });

  return {
    url: (repo) => `git://127.0.0.1:${proxyPort}/${repo}.git`,
    async waitHeld(count = 1) {
      // Polled, not timed: the caller's own deadline (the test's) bounds it.
      while (held.filter((s) => !s.destroyed).length < count) await sleep(50);
    },
    release() {
      released = true;
    },
    async close() {
      for (const s of open) s.destroy();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      daemon.kill('SIGTERM');
      await daemon;
    },
  };
}

/** Resolves once something accepts connections on 127.0.0.1:`port`; fails if `daemon` exits first. */
async function listening(port: number, daemon: ResultPromise): Promise<void> {
  let exited = false;
  void daemon.finally(() => (exited = true));
  for (let i = 0; i < 200; i++) {
    if (exited) throw new Error(`git daemon exited before listening on ${port}`);
    const up = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    await sleep(50);
  }
  throw new Error(`git daemon did not listen on ${port} within 10 s`);
}

/**
 * Points the sandbox's omnibase_infra clone at a slow origin serving its bare origin (same commits);
 * `close()` points it back at the bare origin's path. `pass` as in `slowOrigin`.
 */
export async function slowInfraOrigin(sb: Sandbox, opts: { pass?: number } = {}): Promise<SlowOrigin> {
  const clone = path.join(sb.omniHome, 'omnibase_infra');
  const setOrigin = (url: string) =>
    execa('git', ['-C', clone, 'remote', 'set-url', 'origin', url], { env: sb.env, extendEnv: false });
  const origin = await slowOrigin(sb.originsDir, opts);
  await setOrigin(origin.url('omnibase_infra'));
  return {
    ...origin,
    async close() {
      await origin.close();
      await setOrigin(path.join(sb.originsDir, 'omnibase_infra.git'));
    },
  };
}
