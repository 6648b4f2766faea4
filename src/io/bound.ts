/**
 * Keeps what an activity returns or throws far below Temporal's payload limits (2 MB per blob, 4 MB per
 * gRPC message). An oversized result is rejected by the server and the operator would see a heartbeat
 * timeout instead of the real error; here it is cut, visibly, and the log file keeps everything.
 */
export const MAX_STRING = 8 * 1024;
export const MAX_ITEMS = 200;
/** The whole result or failure detail, as JSON. */
export const MAX_PAYLOAD = 256 * 1024;

export function boundString(text: string, max = MAX_STRING, where = 'the phase log'): string {
  if (text.length <= max) return text;
  const keepHead = Math.floor(max * 0.6);
  const keepTail = Math.floor(max * 0.3);
  const cut = text.length - keepHead - keepTail;
  return `${text.slice(0, keepHead)}\n… [${cut} characters cut here; the whole text is in ${where}] …\n${text.slice(-keepTail)}`;
}

export function boundValue<T>(value: T, where?: string): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return boundString(v, MAX_STRING, where);
    if (Array.isArray(v)) {
      const items = v.slice(0, MAX_ITEMS).map(walk);
      if (v.length > MAX_ITEMS) items.push(`… [${v.length - MAX_ITEMS} more items cut]`);
      return items;
    }
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const bounded = walk(value);
  if (JSON.stringify(bounded ?? null).length <= MAX_PAYLOAD) return bounded as T;
  // Many medium strings: keep the shape, shorten every string further.
  const tight = (v: unknown): unknown => {
    if (typeof v === 'string') return boundString(v, 512, where);
    if (Array.isArray(v)) return v.slice(0, 20).map(tight);
    if (v && typeof v === 'object')
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, tight(x)]));
    return v;
  };
  return tight(bounded) as T;
}
