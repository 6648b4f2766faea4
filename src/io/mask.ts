/**
 * Secret masking. Values of variables whose names look secret are replaced by `***` in everything
 * activities return, throw, log or send.
 */
/**
 * Matched on whole `_`-separated words, so POSTGRES_PASSWORD, SLACK_BOT_TOKEN, AWS_SECRET_ACCESS_KEY and
 * SLACK_WEBHOOK_URL are secrets, while GIT_AUTHOR_NAME or XDG_SESSION_CLASS (whose values are ordinary
 * words that would then be masked everywhere) are not.
 */
export const SECRET_NAME_RE =
  /(^|_)(PASSWORD|PASSWD|PASS|PASSPHRASE|SECRET|SECRETS|TOKEN|KEY|APIKEY|DSN|CREDENTIAL|CREDENTIALS|PRIVATE|AUTH|WEBHOOK|COOKIE)(_|$)/i;
/** `scheme://user:password@host`: the password of any URL-valued variable (DATABASE_URL, REDIS_URL…). */
const URL_PASSWORD_RE = /[a-z][a-z0-9+.-]*:\/\/[^:/@\s]*:([^@\s]+)@/gi;

/** Shorter values would turn ordinary words into *** everywhere; 4+ characters is the usual floor. */
const MIN_SECRET_LENGTH = 4;

export type Masker = (text: string) => string;

export function secretValues(...sources: Record<string, string | undefined>[]): string[] {
  const values = new Set<string>();
  for (const source of sources) {
    const add = (value: string): void => {
      if (value.length < MIN_SECRET_LENGTH) return;
      values.add(value);
      // A password also appears URL-encoded inside DSNs and URLs.
      const encoded = encodeURIComponent(value);
      if (encoded !== value) values.add(encoded);
      const decoded = (() => {
        try {
          return decodeURIComponent(value);
        } catch {
          return value;
        }
      })();
      if (decoded !== value && decoded.length >= MIN_SECRET_LENGTH) values.add(decoded);
    };
    for (const [name, value] of Object.entries(source)) {
      if (!value) continue;
      if (SECRET_NAME_RE.test(name)) add(value);
      for (const m of value.matchAll(URL_PASSWORD_RE)) add(m[1] as string);
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
