import path from 'node:path';
import { execa } from 'execa';

export const CLIENT = new URL('../../src/client.js', import.meta.url).pathname;

/** How the CLI's hints name it when a test starts it: `node <client.js>`, relative to the working directory. */
export const PROG = `node ${path.relative(process.cwd(), CLIENT)}`;
/** PROG for a RegExp. */
export const PROG_RE = PROG.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Runs the real `redeploy` entry as a subprocess with exactly this environment. */
export function redeploy(args: string[], env: Record<string, string>, opts: { input?: string } = {}) {
  return execa(process.execPath, [CLIENT, ...args], {
    env,
    extendEnv: false,
    reject: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
}
