import { execa } from 'execa';

export const CLIENT = new URL('../../src/client.js', import.meta.url).pathname;

/** Runs the real `redeploy` entry as a subprocess with exactly this environment. */
export function redeploy(args: string[], env: Record<string, string>, opts: { input?: string } = {}) {
  return execa(process.execPath, [CLIENT, ...args], {
    env,
    extendEnv: false,
    reject: false,
    ...(opts.input !== undefined ? { input: opts.input } : { stdin: 'ignore' as const }),
  });
}
