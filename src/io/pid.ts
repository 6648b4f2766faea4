/** Whether a process exists (signal 0: nothing is sent). Its own module: the supervisor loads no more. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
