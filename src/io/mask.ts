/**
 * Secret masking, for output sinks only: logs, failure messages, notifications, command output kept in
 * the history. Data the workflow acts on (paths, versions, commit SHAs) is never masked — it holds no
 * secret by construction — and a masker leaves *protected* strings (configuration-derived values such
 * as the worktree path) intact, so `***` never reveals where a secret sits inside a known string.
 */
/**
 * Matched on whole `_`-separated words, so POSTGRES_PASSWORD, SLACK_BOT_TOKEN, AWS_SECRET_ACCESS_KEY and
 * SLACK_WEBHOOK_URL are secrets, while GIT_AUTHOR_NAME or XDG_SESSION_CLASS (whose values are ordinary
 * words that would then be masked everywhere) are not.
 */
export const SECRET_NAME_RE =
  /(^|_)(PASSWORD|PASSWD|PASS|PASSPHRASE|SECRET|SECRETS|TOKEN|KEY|APIKEY|DSN|CREDENTIAL|CREDENTIALS|PRIVATE|AUTH|WEBHOOK|COOKIE)(_|$)/i;
/**
 * Each `scheme://` in a text, and its authority: up to the first `/`, `?`, `#`, whitespace, `"`, `<`, `>`,
 * `{`, `}` (none may stand unencoded in a URL), or the next `scheme://` — so a list of URLs (`UV_INDEX`,
 * `PIP_EXTRA_INDEX_URL`, comma- or space-separated) is read URL by URL, never as one greedy match from
 * the first `:` to the last `@`, while a password with RFC 3986's sub-delimiters (`, ; ' ( ) ! $ & * + =`)
 * is still found whole.
 */
// The scheme is bounded (32 characters): unbounded, a 3 MB line of letters would take quadratic time.
const URL_AUTHORITY_RE = /[a-z][a-z0-9+.-]{0,31}:\/\/((?:(?![a-z][a-z0-9+.-]{0,31}:\/\/)[^/?#\s"<>{}])*)/gi;

/** Where the password is in each URL of `text` (`user:password@host`, the userinfo ending at the authority's last `@`). */
function urlPasswordSpans(text: string): { start: number; end: number }[] {
  const spans: { start: number; end: number }[] = [];
  if (!text.includes('://')) return spans;
  for (const m of text.matchAll(URL_AUTHORITY_RE)) {
    const authority = m[1] ?? '';
    const at = authority.lastIndexOf('@');
    if (at < 0) continue;
    const colon = authority.indexOf(':');
    if (colon < 0 || colon > at) continue;
    const base = (m.index ?? 0) + m[0].length - authority.length;
    if (at > colon + 1) spans.push({ start: base + colon + 1, end: base + at });
  }
  return spans;
}

/** The passwords of every URL in a value (DATABASE_URL, a UV_INDEX list…). */
export function urlPasswords(value: string): string[] {
  return urlPasswordSpans(value).map((s) => value.slice(s.start, s.end));
}

/** Any URL's password in a text replaced by `***`: for printed text only (whatever produced the URL). */
export function maskUrlCredentials(text: string): string {
  const spans = urlPasswordSpans(text);
  if (spans.length === 0) return text;
  let out = '';
  let last = 0;
  for (const s of spans) {
    out += `${text.slice(last, s.start)}***`;
    last = s.end;
  }
  return out + text.slice(last);
}

/** Shorter values would turn ordinary words into *** everywhere; 4+ characters is the usual floor. */
const MIN_SECRET_LENGTH = 4;
/** Below this a secret is masked, but it also occurs in ordinary text: ENV_CHECK says so. */
export const WEAK_SECRET_LENGTH = 8;

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
      // A token often travels base64-encoded (Basic auth, k8s secrets); only the standalone encoding is
      // caught — inside a longer base64 stream its alignment varies (documented).
      if (value.length >= WEAK_SECRET_LENGTH) values.add(Buffer.from(value, 'utf8').toString('base64'));
    };
    for (const [name, value] of Object.entries(source)) {
      if (!value) continue;
      if (SECRET_NAME_RE.test(name)) add(value);
      for (const password of urlPasswords(value)) add(password);
    }
  }
  // Longest first, so a secret that contains another is masked whole.
  return [...values].sort((a, b) => b.length - a.length);
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `protect`: strings that are shown as they are wherever they occur in a text (the worktree path, the
 * state dir, the run id): a secret inside one of them is not masked there, because a masked path would
 * tell a reader the secret is "2026". Everywhere else the secret is masked.
 */
export function createMasker(secrets: string[], protect: string[] = []): Masker {
  // URL passwords are masked in any printed text, also one no variable held (an endpoint, a remote).
  const inner = knownSecretsMasker(secrets, protect);
  return (text) => maskUrlCredentials(inner(text));
}

function knownSecretsMasker(secrets: string[], protect: string[]): Masker {
  if (secrets.length === 0) return (text) => text;
  const pattern = new RegExp(secrets.map(escape).join('|'), 'g');
  const guarded = [
    ...new Set(protect.filter((p) => secrets.some((s) => p.length > s.length && p.includes(s)))),
  ];
  if (guarded.length === 0) return (text) => text.replace(pattern, '***');
  const guard = new RegExp(
    guarded
      .sort((a, b) => b.length - a.length)
      .map(escape)
      .join('|'),
    'g',
  );
  return (text) => {
    let out = '';
    let last = 0;
    for (const m of text.matchAll(guard)) {
      out += text.slice(last, m.index).replace(pattern, '***') + m[0];
      last = m.index + m[0].length;
    }
    return out + text.slice(last).replace(pattern, '***');
  };
}

/**
 * Names (never values) of secrets that cannot be masked safely: too short to be told from ordinary text,
 * or occurring inside a configuration value (a path, the ticket). ENV_CHECK reports them as warnings.
 */
export function weakSecrets(
  vars: Record<string, string | undefined>,
  known: string[],
): { name: string; why: string }[] {
  const out: { name: string; why: string }[] = [];
  for (const [name, value] of Object.entries(vars)) {
    if (!value || !SECRET_NAME_RE.test(name)) continue;
    if (value.length < WEAK_SECRET_LENGTH)
      out.push({ name, why: `shorter than ${WEAK_SECRET_LENGTH} characters` });
    else if (known.some((k) => k.includes(value)))
      out.push({ name, why: 'its value also occurs in a configured path or name' });
  }
  return out;
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
