import { admits, parseSpecifierSet } from './pep440.js';
import { findPins, rewritePins, type PinReport } from './pins.js';
import { normalizeName, type Versions } from './versions.js';

/**
 * The pin policy of a run, and its verdicts. `edit`: the worktree's pin becomes `==version` (how a
 * specific release is forced on the dev and stability lanes). `admit`: the worktree is never edited;
 * each requested version must satisfy origin's specifier for that package, and a rebuild of origin
 * installs it (CONTRACTS.md, "Today's release flow"). Pure: PIN_UPDATE, the CLI's refusal and the
 * dry-run print one and the same verdict.
 */

export const PIN_POLICIES = ['edit', 'admit'] as const;
export type PinPolicy = (typeof PIN_POLICIES)[number];
/** The environment variable choosing the policy when --pin-policy is not given. */
export const PIN_POLICY_ENV = 'REDEPLOY_PIN_POLICY';
/** The only ref a promoted lane builds (the lineage guard's `origin/main`). */
export const PROMOTED_REF = 'main';
export const PROD_LANE = 'prod';
/** The guard today's deploy-runtime.sh delegates to; a script naming it enforces promoted lineage. */
export const LINEAGE_GUARD = 'check_prod_promotion_lineage';

export const isPinPolicy = (v: unknown): v is PinPolicy => v === 'edit' || v === 'admit';

/**
 * Whether `lane` is promoted (builds only promoted origin/main): the prod lane always; any other lane
 * when the deploy script's text runs the lineage guard for it (`ONEX_DEPLOY_LANE … == "<lane>"`).
 */
export function promotedLane(lane: string, script: string | undefined): { promoted: boolean; why: string } {
  if (lane === PROD_LANE) return { promoted: true, why: `the ${PROD_LANE} lane builds only promoted main` };
  if (script === undefined || !script.includes(LINEAGE_GUARD)) return { promoted: false, why: '' };
  for (const m of script.matchAll(/ONEX_DEPLOY_LANE(?::-)?\}?"?\s*==?\s*"?([a-z0-9][a-z0-9-]*)"?/g))
    if (m[1] === lane)
      return {
        promoted: true,
        why: `scripts/deploy-runtime.sh runs the promotion-lineage guard (${LINEAGE_GUARD}) for lane ${lane}`,
      };
  return { promoted: false, why: '' };
}

/**
 * The run's policy: `--pin-policy`, else the env var, else `admit` on a promoted lane and `edit`
 * elsewhere. Problems (a bad value, `edit` or a ref other than main on a promoted lane) are refusals
 * before anything runs.
 */
export function decidePinPolicy(opts: {
  flag: string | undefined;
  env: string | undefined;
  lane: string;
  ref: string;
  promoted: { promoted: boolean; why: string };
}): { policy: PinPolicy; source: string; problems: string[] } {
  const problems: string[] = [];
  const given = opts.flag ?? (opts.env === '' ? undefined : opts.env);
  const source = opts.flag !== undefined ? '--pin-policy' : given !== undefined ? PIN_POLICY_ENV : 'default';
  if (given !== undefined && !isPinPolicy(given))
    problems.push(
      `${source === '--pin-policy' ? '--pin-policy' : PIN_POLICY_ENV} "${given}" is not a pin policy (edit or admit)`,
    );
  const policy: PinPolicy = isPinPolicy(given) ? given : opts.promoted.promoted ? 'admit' : 'edit';
  if (opts.promoted.promoted) {
    if (policy === 'edit' && isPinPolicy(given))
      problems.push(
        `${source} edit on lane ${opts.lane}: ${opts.promoted.why}, and a pin edited in the worktree is not on origin/${PROMOTED_REF} ` +
          `(its deploy script refuses the dirty tree). Use --pin-policy admit (the default there): a version main's specifier admits is deployed by rebuilding main; another needs a change on main first`,
      );
    if (opts.ref !== PROMOTED_REF)
      problems.push(
        `--ref ${opts.ref} on lane ${opts.lane}: ${opts.promoted.why} (HEAD must be origin/${PROMOTED_REF}). Drop --ref (or REDEPLOY_WORKTREE_REF), or deploy ${opts.ref} to another lane`,
      );
  }
  return { policy, source, problems };
}

/** The branch the release automation pushes an exact pin on (merged to main through review). */
export const automationBranch = (pkg: string, version: string): string =>
  `automation/pin-${normalizeName(pkg)}-v${version}`;

/** One requested package under a policy: what origin pins, and what happens to it. */
export interface PinVerdict {
  package: string;
  requested: string;
  /** The specifier's bytes on origin (`''` unpinned); undefined when no pin line names the package. */
  specifier: string | undefined;
  matched: boolean;
  /** admit: the specifier set admits the version; edit: always true for a matched package. */
  admitted: boolean;
  action: 'admitted' | 'edited' | 'refused' | 'unmatched';
  /** Why it was refused (an unparseable specifier, a version outside it). */
  why?: string;
}

/** Each requested package's verdict against the Dockerfile's text, under `policy`. */
export function pinVerdicts(text: string, versions: Versions, policy: PinPolicy): PinVerdict[] {
  const pins = findPins(text);
  return Object.entries(versions).map(([pkg, requested]): PinVerdict => {
    const hit = pins.find((p) => normalizeName(p.name) === normalizeName(pkg));
    if (!hit)
      return {
        package: pkg,
        requested,
        specifier: undefined,
        matched: false,
        admitted: false,
        action: 'unmatched',
      };
    const base = { package: pkg, requested, specifier: hit.specifier, matched: true };
    if (policy === 'edit') return { ...base, admitted: true, action: 'edited' };
    const set = parseSpecifierSet(hit.specifier);
    if (!set.ok) return { ...base, admitted: false, action: 'refused', why: set.why };
    return admits(set.set, requested)
      ? { ...base, admitted: true, action: 'admitted' }
      : {
          ...base,
          admitted: false,
          action: 'refused',
          why: `${hit.specifier || 'unpinned'} does not admit ${requested}`,
        };
  });
}

/** One line per verdict, as the dry-run and PIN_UPDATE's log print them. */
export function verdictLine(v: PinVerdict): string {
  const spec = v.specifier === undefined ? '(no pin line)' : v.specifier || 'unpinned';
  switch (v.action) {
    case 'admitted':
      return `${v.package}: ${spec} admits ${v.requested} (admitted: the Dockerfile is not edited)`;
    case 'edited':
      return `${v.package}: ${spec} → ==${v.requested} (edited in the worktree)`;
    case 'refused':
      return `${v.package}: ${spec} does not admit ${v.requested} (refused${v.why && !v.why.includes('does not admit') ? `: ${v.why}` : ''})`;
    case 'unmatched':
      return `${v.package}: no pin line names it (refused)`;
  }
}

/**
 * The refusal of an admit run, naming per package the version, origin's specifier and the way out:
 * land the change on main — through `automation/pin-<pkg>-v<version>` when origin has that branch.
 */
export function refusalMessage(refused: PinVerdict[], ref: string, branches: ReadonlySet<string>): string {
  const parts = refused.map((v) => {
    const branch = automationBranch(v.package, v.requested);
    const what =
      v.action === 'unmatched'
        ? `${v.package} ${v.requested}: no pin line in origin/${ref}'s docker/Dockerfile.runtime names ${v.package}`
        : `${v.package} ${v.requested} is not admitted by origin/${ref}'s specifier "${v.specifier || 'unpinned'}"${v.why && !v.why.includes('does not admit') ? ` (${v.why})` : ''}`;
    const way = branches.has(branch)
      ? `origin has ${branch}: merge it to ${ref} (review), then redeploy`
      : `land a pin or range that admits ${v.requested} on ${ref} first (the release automation pushes ${branch} for it)`;
    return `${what}; ${way}`;
  });
  return `${parts.join('. ')}. Nothing was edited or built.`;
}

/**
 * What PIN_UPDATE does under `policy`: `edit` rewrites the pins (rewritePins); `admit` leaves the text
 * as it is and reports each package admitted. `refused` lists what an admit run must not go on with.
 */
export function planPins(
  text: string,
  versions: Versions,
  policy: PinPolicy,
): {
  text: string;
  report: PinReport;
  verdicts: PinVerdict[];
  refused: PinVerdict[];
  unmatched: string[];
  /** edit only: packages the rewrite will not touch (a heredoc body), each with why (core/pins.ts). */
  notRewritable: Record<string, string>;
} {
  const verdicts = pinVerdicts(text, versions, policy);
  if (policy === 'edit') {
    const r = rewritePins(text, versions);
    const report: PinReport = Object.fromEntries(
      Object.entries(r.report).map(([k, c]) => [k, c.matched ? { ...c, action: 'edited' as const } : c]),
    );
    // The rewrite's own: a package named only in a heredoc body is not rewritable, rather than unmatched.
    return { text: r.text, report, verdicts, refused: [], unmatched: r.unmatched, notRewritable: r.refused };
  }
  const report: PinReport = {};
  for (const v of verdicts) {
    const found = rewritePins(text, { [v.package]: v.requested }).report[v.package];
    report[v.package] = {
      from: found?.from ?? '',
      ...(found?.from_raw !== undefined ? { from_raw: found.from_raw } : {}),
      to: v.requested,
      matched: v.matched,
      action: v.admitted ? 'admitted' : 'refused',
    };
  }
  return {
    text,
    report,
    verdicts,
    refused: verdicts.filter((v) => !v.admitted),
    unmatched: verdicts.filter((v) => !v.matched).map((v) => v.package),
    notRewritable: {},
  };
}

/** The OCI label today's deploy-runtime.sh bakes the built commit into (VCS_REF / GIT_SHA). */
export const REVISION_LABEL = 'org.opencontainers.image.revision';
/** Label values the lineage guard treats as no revision at all. */
const REVISION_SENTINELS = new Set(['', 'unknown', 'dev', 'none', 'null', '<no value>']);

/**
 * Whether a running image's revision label proves `commit`: a real hex SHA (the script bakes a
 * 12-character one) that is a prefix of the commit, or the commit itself.
 */
export function revisionProves(label: string | null, commit: string | null): { ok: boolean; why: string } {
  const found = (label ?? '').trim().toLowerCase();
  if (!commit) return { ok: false, why: 'no deployed commit is recorded to compare the image with' };
  if (REVISION_SENTINELS.has(found) || !/^[0-9a-f]{7,64}$/.test(found))
    return {
      ok: false,
      why: `the running image has no real ${REVISION_LABEL} label (found ${JSON.stringify(label ?? '')}): it cannot be proven to be ${commit.slice(0, 12)}`,
    };
  const want = commit.toLowerCase();
  if (want.startsWith(found) || found.startsWith(want)) return { ok: true, why: '' };
  return {
    ok: false,
    why: `the running image's ${REVISION_LABEL} is ${found}, not the deployed commit ${want.slice(0, 12)}: it is not what this run built`,
  };
}

/**
 * A version mismatch said the way an operator needs it: when origin's pin is a range, the rebuild
 * resolved it — "`>=0.9.0,<2.0.0` resolved to 0.25.0, not the requested 0.24.0".
 */
export function mismatchLine(
  pkg: string,
  requested: string,
  actual: string,
  specifier: string | undefined,
): string {
  const exact = specifier !== undefined && /^={2,3}[^,]*$/.test(specifier.trim());
  if (specifier !== undefined && !exact)
    return `${pkg}: \`${specifier || 'unpinned'}\` resolved to ${actual}, not the requested ${requested}`;
  return `${pkg}: expected ${requested}, got ${actual}`;
}
