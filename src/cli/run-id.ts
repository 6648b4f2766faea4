import { createHash } from 'node:crypto';

/** `redeploy-<YYYYMMDD>-<6 hex of sha256(timestamp)>`, as the seed generates it. */
export function newRunId(now: Date = new Date()): string {
  const day = now.toISOString().slice(0, 10).replace(/-/g, '');
  // The high-resolution clock goes into the hashed timestamp so two runs in one millisecond still differ.
  const stamp = `${now.toISOString()}.${process.hrtime.bigint()}`;
  return `redeploy-${day}-${createHash('sha256').update(stamp).digest('hex').slice(0, 6)}`;
}
