/**
 * Secret masking. Values of variables whose names look secret are replaced by `***` in everything
 * activities return, throw, log or send.
 */
export const SECRET_NAME_RE =
  /PASS|SECRET|TOKEN|KEY|DSN|CREDENTIAL|PRIVATE|AUTH|WEBHOOK|COOKIE|CERT|SESSION/i;

/** Shorter values would turn ordinary words into *** everywhere; 4+ characters is the usual floor. */
const MIN_SECRET_LENGTH = 4;

export type Masker = (text: string) => string;

export function secretValues(...sources: Record<string, string | undefined>[]): string[] {
  const values = new Set<string>();
  for (const source of sources) {
    for (const [name, value] of Object.entries(source)) {
      if (!value || value.length < MIN_SECRET_LENGTH || !SECRET_NAME_RE.test(name)) continue;
      values.add(value);
      // A password also appears URL-encoded inside DSNs and URLs.
      const encoded = encodeURIComponent(value);
      if (encoded !== value) values.add(encoded);
    }
  }
  // Longest first, so a secret that contains another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

export function createMasker(secrets: string[]): Masker {
  if (secrets.length === 0) return (text) => text;
  const pattern = new RegExp(secrets.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  return (text) => text.replace(pattern, '***');
}

/** Masks every string inside a JSON-like value. */
export function maskDeep<T>(value: T, mask: Masker): T {
  if (typeof value === 'string') return mask(value) as T;
  if (Array.isArray(value)) return value.map((v) => maskDeep(v, mask)) as T;
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, maskDeep(v, mask)])) as T;
  }
  return value;
}
