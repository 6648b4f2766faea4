/**
 * PEP 440 versions, their order, and specifier sets (`>=0.9.0,<2.0.0`, `~=1.2`, `!=1.3.*`, `===x`), as
 * pip/uv and Python's `packaging` read them. Pure: the admission verdict (core/pin-policy.ts), the
 * dry-run and `--versions auto` share it. test/core/pep440.test.ts checks it against `packaging` itself.
 */

export interface Version {
  epoch: number;
  release: number[];
  pre: { kind: 'a' | 'b' | 'rc'; n: number } | undefined;
  post: number | undefined;
  dev: number | undefined;
  local: (number | string)[] | undefined;
  /** The text it was parsed from (trimmed): `===` compares that, not the normal form. */
  text: string;
}

const VERSION_RE =
  /^v?(?:(\d+)!)?(\d+(?:\.\d+)*)(?:[-_.]?(a|b|c|rc|alpha|beta|pre|preview)[-_.]?(\d*))?(?:-(\d+)|[-_.]?(?:post|rev|r)[-_.]?(\d*))?(?:[-_.]?dev[-_.]?(\d*))?(?:\+([a-z0-9]+(?:[-_.][a-z0-9]+)*))?$/i;
const PRE_KIND: Record<string, 'a' | 'b' | 'rc'> = {
  a: 'a',
  alpha: 'a',
  b: 'b',
  beta: 'b',
  c: 'rc',
  rc: 'rc',
  pre: 'rc',
  preview: 'rc',
};

export function parseVersion(text: string): Version | undefined {
  const t = text.trim();
  const m = VERSION_RE.exec(t);
  if (!m) return undefined;
  const [, epoch, release, pre, preN, postImplicit, postN, devN, local] = m;
  const post = postImplicit ?? postN;
  return {
    epoch: epoch ? Number(epoch) : 0,
    release: (release as string).split('.').map(Number),
    pre: pre ? { kind: PRE_KIND[pre.toLowerCase()] as 'a' | 'b' | 'rc', n: Number(preN || 0) } : undefined,
    post: post !== undefined ? Number(post || 0) : undefined,
    dev: devN !== undefined ? Number(devN || 0) : undefined,
    local: local
      ?.toLowerCase()
      .split(/[-_.]/)
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s)),
    text: t,
  };
}

export const isPrerelease = (v: Version): boolean => v.pre !== undefined || v.dev !== undefined;
const isPostrelease = (v: Version): boolean => v.post !== undefined;

/** epoch + release only (`1!2.0.0rc1+x` → `1!2.0.0`), as packaging's base_version. */
const base = (v: Version): Version => ({
  ...v,
  pre: undefined,
  post: undefined,
  dev: undefined,
  local: undefined,
});
const publicOf = (v: Version): Version => ({ ...v, local: undefined });

function cmpNum(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

const PRE_ORDER = { a: 0, b: 1, rc: 2 } as const;

/** PEP 440 order: negative when a < b (dev < pre < final < post; a local version after its public one). */
export function compareVersions(a: Version, b: Version): number {
  let c = cmpNum(a.epoch, b.epoch);
  if (c) return c;
  const len = Math.max(a.release.length, b.release.length);
  for (let i = 0; i < len; i++) {
    c = cmpNum(a.release[i] ?? 0, b.release[i] ?? 0);
    if (c) return c;
  }
  // Pre-release key: a bare `.devN` sorts before any pre-release of the same release; a final after all.
  const preKey = (v: Version): [number, number] =>
    v.pre ? [PRE_ORDER[v.pre.kind], v.pre.n] : v.post === undefined && v.dev !== undefined ? [-1, 0] : [9, 0];
  const [pa, pb] = [preKey(a), preKey(b)];
  c = cmpNum(pa[0], pb[0]) || cmpNum(pa[1], pb[1]);
  if (c) return c;
  c = cmpNum(a.post ?? -1, b.post ?? -1);
  if (c) return c;
  c = cmpNum(a.dev ?? Infinity, b.dev ?? Infinity);
  if (c) return c;
  if (!a.local || !b.local) return a.local ? 1 : b.local ? -1 : 0;
  for (let i = 0; i < Math.max(a.local.length, b.local.length); i++) {
    const x = a.local[i];
    const y = b.local[i];
    if (x === undefined || y === undefined) return x === undefined ? -1 : 1;
    // A numeric segment sorts after an alphanumeric one.
    if (typeof x !== typeof y) return typeof x === 'number' ? 1 : -1;
    c = typeof x === 'number' ? cmpNum(x, y as number) : x < (y as string) ? -1 : x > (y as string) ? 1 : 0;
    if (c) return c;
  }
  return 0;
}

/** Highest first by PEP 440 (`1.0.0` before `1.0.0rc1`); texts that are not versions go last. */
export function sortVersionsDescending(texts: string[]): string[] {
  const parsed = texts.map((t) => ({ t, v: parseVersion(t) }));
  return parsed
    .sort((x, y) => (x.v && y.v ? compareVersions(y.v, x.v) : x.v ? -1 : y.v ? 1 : 0))
    .map((p) => p.t);
}

export type Operator = '===' | '==' | '!=' | '~=' | '>=' | '<=' | '>' | '<';

export interface Specifier {
  op: Operator;
  /** The version text as written (`1.2.*` keeps its `.*`). */
  version: string;
}

export type SpecifierSet = Specifier[];

const SPEC_RE = /^\s*(===|==|!=|~=|>=|<=|>|<)\s*([^\s,;]+)\s*$/;

/**
 * A specifier set's text (`>=0.9.0,<2.0.0`; `''` is the empty set that admits any final release),
 * or a reason it is not one.
 */
export function parseSpecifierSet(
  text: string,
): { ok: true; set: SpecifierSet } | { ok: false; why: string } {
  if (text.trim() === '') return { ok: true, set: [] };
  const set: SpecifierSet = [];
  for (const part of text.split(',')) {
    const m = SPEC_RE.exec(part);
    if (!m) return { ok: false, why: `"${part.trim()}" is not a version specifier` };
    const op = m[1] as Operator;
    const version = m[2] as string;
    if (op !== '===') {
      const wildcard = version.endsWith('.*');
      if (wildcard && op !== '==' && op !== '!=')
        return { ok: false, why: `"${part.trim()}": only == and != take a .* suffix` };
      const v = parseVersion(wildcard ? version.slice(0, -2) : version);
      if (!v) return { ok: false, why: `"${part.trim()}": ${version} is not a PEP 440 version` };
      if (op === '~=' && v.release.length < 2)
        return { ok: false, why: `"${part.trim()}": ~= needs at least two release segments` };
      if (wildcard && (v.local || v.dev !== undefined || v.post !== undefined || v.pre))
        return { ok: false, why: `"${part.trim()}": a .* prefix is a release number` };
    }
    set.push({ op, version });
  }
  return { ok: true, set };
}

/** `==1.2.*`: the candidate's release (padded with zeros) starts with the prefix, in the same epoch. */
function prefixMatch(candidate: Version, prefix: Version): boolean {
  if (candidate.epoch !== prefix.epoch) return false;
  return prefix.release.every((n, i) => (candidate.release[i] ?? 0) === n);
}

/** One specifier, ignoring the pre-release rule (that one belongs to the set: admits). */
function matches(candidate: Version, spec: Specifier): boolean {
  if (spec.op === '===') return candidate.text.toLowerCase() === spec.version.toLowerCase();
  if (spec.version.endsWith('.*')) {
    const prefix = parseVersion(spec.version.slice(0, -2)) as Version;
    const hit = prefixMatch(candidate, prefix);
    return spec.op === '==' ? hit : !hit;
  }
  const v = parseVersion(spec.version) as Version;
  // Without a local label in the specifier, a candidate's local label is ignored (`==1.0` admits `1.0+x`).
  const c = v.local ? candidate : publicOf(candidate);
  switch (spec.op) {
    case '==':
      return compareVersions(c, v) === 0;
    case '!=':
      return compareVersions(c, v) !== 0;
    case '>=':
      return compareVersions(publicOf(candidate), v) >= 0;
    case '<=':
      return compareVersions(publicOf(candidate), v) <= 0;
    case '~=': {
      const prefix = { ...base(v), release: v.release.slice(0, -1) };
      return compareVersions(publicOf(candidate), v) >= 0 && prefixMatch(candidate, prefix);
    }
    case '<':
      // `<2.0` does not admit 2.0rc1: a pre-release of the bound itself is excluded.
      if (compareVersions(publicOf(candidate), v) >= 0) return false;
      return isPrerelease(v) || !isPrerelease(candidate) || compareVersions(base(candidate), base(v)) !== 0;
    case '>':
      // `>1.0` admits neither 1.0.post1 nor 1.0+local.
      if (compareVersions(publicOf(candidate), v) <= 0) return false;
      if (!isPostrelease(v) && isPostrelease(candidate) && compareVersions(base(candidate), base(v)) === 0)
        return false;
      return !(candidate.local && compareVersions(base(candidate), base(v)) === 0);
  }
}

/**
 * Whether `version` satisfies `set`: every specifier matches it (packaging's `SpecifierSet.contains`
 * for an explicitly named version — a pre-release included). Whether a rebuild then *installs* it is
 * the index's answer: VERIFY checks what runs.
 */
export function admits(set: SpecifierSet, version: string): boolean {
  const v = parseVersion(version);
  if (!v)
    return (
      set.length > 0 &&
      set.every((s) => s.op === '===' && s.version.toLowerCase() === version.trim().toLowerCase())
    );
  return set.every((s) => matches(v, s));
}
