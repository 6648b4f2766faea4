// Small numeric helpers. Every figure of the suite is a median of per-repetition ratios, where both sides
// of a ratio were measured back to back in the same repetition (so slow moments of a shared machine hit
// both sides alike).

/** The median of the finite values (a NaN from a run with no such event would leave the sort unordered). */
export function median(xs) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

/** Nearest-rank percentile (p95 of 50 values is the 48th smallest). */
export function percentile(xs, p) {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  return s[Math.min(s.length, Math.max(1, Math.ceil((p / 100) * s.length))) - 1];
}

export const round = (x, digits = 3) => (Number.isFinite(x) ? Number(x.toFixed(digits)) : x);

export const omit = (obj, key) => Object.fromEntries(Object.entries(obj).filter(([k]) => k !== key));

/**
 * Runs `pair(i)` `runs` times after `warmup` discarded runs; each returns `{ num, den, ...extra }`.
 * The value is the median of num/den; the medians of each side and the raw samples go in the details.
 */
export async function pairedRuns({ runs, warmup = 1, pair, log }) {
  for (let i = 0; i < warmup; i++) await pair(-1 - i);
  const samples = [];
  for (let i = 0; i < runs; i++) {
    const s = await pair(i);
    samples.push(s);
    log?.(`  run ${i + 1}/${runs}: ${round(s.num, 1)} / ${round(s.den, 1)} = ${round(s.num / s.den)}`);
  }
  return {
    value: median(samples.map((s) => s.num / s.den)),
    num_median: median(samples.map((s) => s.num)),
    den_median: median(samples.map((s) => s.den)),
    samples,
  };
}

/** Medians of each numeric field across samples (for breakdowns). */
export function medianFields(samples) {
  const keys = new Set(samples.flatMap((s) => Object.keys(s)));
  const out = {};
  for (const k of keys) {
    const vals = samples.map((s) => s[k]).filter((v) => Number.isFinite(v));
    if (vals.length) out[k] = round(median(vals), 1);
  }
  return out;
}
