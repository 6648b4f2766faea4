/**
 * `--versions` parsing with PEP 508 names and PEP 440 versions. Pure: shared by the CLI (validation
 * before any connection), the workflow input schema and the activities.
 */

/** PEP 508 distribution name. */
const NAME_RE = /^([A-Z0-9]|[A-Z0-9][A-Z0-9._-]*[A-Z0-9])$/i;

/** PEP 440 public version (+ optional local part), from packaging's canonical regex, anchored. */
const PEP440_RE =
  /^v?(?:(?:[0-9]+)!)?[0-9]+(?:\.[0-9]+)*(?:[-_.]?(?:a|b|c|rc|alpha|beta|pre|preview)[-_.]?[0-9]*)?(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?(?:[-_.]?dev[-_.]?[0-9]*)?(?:\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?$/i;

/** PEP 503 normalisation: `omninode_claude` and `Omninode.Claude` are both `omninode-claude`. */
export function normalizeName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, '-');
}

export function isValidPackageName(name: string): boolean {
  return NAME_RE.test(name);
}

export function isValidVersion(version: string): boolean {
  return PEP440_RE.test(version);
}

export type Versions = Record<string, string>;

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: string[] };

/** Parse `pkg=1.2.3,other=0.4.0`. Every problem is reported, not only the first. */
export function parseVersions(input: string): ParseResult<Versions> {
  const errors: string[] = [];
  const value: Versions = {};
  const seen = new Map<string, string>();
  if (input.trim() === '') {
    return { ok: false, errors: ['--versions is empty: expected pkg=version[,pkg=version…]'] };
  }
  for (const raw of input.split(',')) {
    const entry = raw.trim();
    if (entry === '') {
      errors.push(`--versions has an empty entry in "${input}" (stray comma?)`);
      continue;
    }
    const eq = entry.indexOf('=');
    if (eq <= 0 || eq === entry.length - 1 || entry.indexOf('=', eq + 1) !== -1) {
      errors.push(`--versions entry "${entry}" is not of the form pkg=version (e.g. omninode-claude=0.4.0)`);
      continue;
    }
    const name = entry.slice(0, eq).trim();
    const version = entry.slice(eq + 1).trim();
    let bad = false;
    if (!isValidPackageName(name)) {
      errors.push(`--versions: "${name}" is not a valid package name (letters, digits, . _ -)`);
      bad = true;
    }
    if (!isValidVersion(version)) {
      errors.push(`--versions: "${version}" for ${name} is not a PEP 440 version (e.g. 0.4.0, 1.0.0rc1)`);
      bad = true;
    }
    if (bad) continue;
    const key = normalizeName(name);
    const previous = seen.get(key);
    if (previous !== undefined) {
      errors.push(`--versions names ${name} twice (also as ${previous}): give each package once`);
      continue;
    }
    seen.set(key, name);
    value[name] = version;
  }
  return errors.length > 0 ? { ok: false, errors } : { ok: true, value };
}

/** The canonical `a=1,b=2` form, as the seed passes it on and prints it in resume hints. */
export function formatVersions(versions: Versions): string {
  return Object.entries(versions)
    .map(([name, version]) => `${name}=${version}`)
    .join(',');
}

const CANON_RE =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/i;
const PRE: Record<string, string> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

/**
 * PEP 440 normal form for comparison: `v0.4` = `0.4.0`, `1.0.0-RC1` = `1.0.0rc1`. Versions that do not
 * parse compare as written.
 */
export function canonicalVersion(version: string): string {
  const m = CANON_RE.exec(version.trim());
  if (!m) return version.trim();
  const [, epoch, release, pre, preN, postImplicit, postN, devN, local] = m;
  const parts = (release as string).split('.').map((n) => String(Number(n)));
  while (parts.length > 1 && parts[parts.length - 1] === '0') parts.pop();
  let out = `${epoch && Number(epoch) !== 0 ? `${Number(epoch)}!` : ''}${parts.join('.')}`;
  if (pre) out += `${PRE[pre.toLowerCase()]}${Number(preN || 0)}`;
  const post = postImplicit ?? postN;
  if (post !== undefined) out += `.post${Number(post || 0)}`;
  if (devN !== undefined) out += `.dev${Number(devN || 0)}`;
  // Local segments that are numbers compare as numbers (PEP 440): `+01` is `+1`, as packaging prints it.
  if (local)
    out += `+${local
      .toLowerCase()
      .split(/[-_.]/)
      .map((seg) => (/^\d+$/.test(seg) ? String(Number(seg)) : seg))
      .join('.')}`;
  return out;
}

export function sameVersion(a: string, b: string): boolean {
  return canonicalVersion(a) === canonicalVersion(b);
}

/**
 * The display form `a==1, b==2` (the seed's `Pins:` line, the Web UI's details): beside formatVersions,
 * so no view writes either by hand. Display only; parse the canonical form, never this one.
 */
export function formatPins(versions: Versions): string {
  return Object.entries(versions)
    .map(([name, version]) => `${name}==${version}`)
    .join(', ');
}
