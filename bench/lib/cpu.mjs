// CPU time of processes, from /proc (Linux): to tell "waiting" from "the machine is busy".
import fs from 'node:fs/promises';

const TICKS_PER_S = 100; // USER_HZ on Linux

/** utime+stime of the process, plus its reaped children (the stand-ins a worker ran), in ms. */
export async function cpuMs(pid) {
  const stat = await fs.readFile(`/proc/${pid}/stat`, 'utf8').catch(() => '');
  // Fields after the command name (which may contain spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((i) => Number(fields[i] ?? 0));
  return { self: ((utime + stime) * 1000) / TICKS_PER_S, children: ((cutime + cstime) * 1000) / TICKS_PER_S };
}

/** The pid of the `temporal server start-dev` listening on `port`, if this is Linux and we can see it. */
export async function devServerPid(port) {
  for (const pid of await fs.readdir('/proc').catch(() => [])) {
    if (!/^\d+$/.test(pid)) continue;
    const argv = (await fs.readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '')).split('\0');
    const at = argv.indexOf('--port');
    if (argv.includes('start-dev') && at >= 0 && argv[at + 1] === String(port)) return Number(pid);
  }
  return undefined;
}
