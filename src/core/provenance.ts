import type { PhaseStatus } from './phases.js';
import { findPins } from './pins.js';
import { normalizeName } from './versions.js';

/**
 * What a run deployed, recorded as it goes (additive state fields): the origin ref and commit the
 * worktree is based on, where origin is, the Dockerfile's SHA-256 once the pins are written, and the
 * deploy script that was executed. Written by WORKTREE, PIN_UPDATE and DEPLOY; read by VERIFY, the
 * report, `status` and the notifications.
 */
export interface Provenance {
  ref: string;
  /** `origin/<ref>` as fetched by WORKTREE: the commit the worktree's HEAD must be. */
  base_commit: string | null;
  /** Without credentials (`https://***@host/…`): for display only, never fetched from. */
  origin_url: string | null;
  dockerfile_sha256: string | null;
  /** The absolute path of the deploy-runtime.sh DEPLOY ran (resolved inside the worktree). */
  deploy_script: string | null;
  /** The commit DEPLOY checked the worktree's HEAD against before it ran. */
  deployed_commit: string | null;
  /** A promoted lane: the running image's revision label VERIFY found equal to deployed_commit. */
  image_revision?: string | null;
  /** --require-proven: the run on the proving lane that deployed and verified the same commit and versions. */
  proven_by?: string | null;
}

export function emptyProvenance(ref: string): Provenance {
  return {
    ref,
    base_commit: null,
    origin_url: null,
    dockerfile_sha256: null,
    deploy_script: null,
    deployed_commit: null,
  };
}

/** A URL without its user-info: `https://user:token@github.com/x` → `https://***@github.com/x`. */
export function displayUrl(url: string): string {
  // The user-info ends at the authority's LAST `@` (`https://u:p@ss@host` has the password `p@ss`).
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#\s]*@/i, '$1***@');
}

/**
 * The Dockerfile text with every pin's version specifier blanked: two texts that agree on this differ
 * in specifiers only (what PIN_UPDATE writes), nothing else — no added line, no edited command.
 */
export function withoutSpecifiers(text: string): string {
  // Right to left, so earlier offsets stay valid; an unpinned requirement gets the mark where `==X` would go.
  let out = text;
  for (const p of findPins(text).sort((a, b) => b.start - a.start))
    out = `${out.slice(0, p.start)}\u0000${out.slice(p.end)}`;
  return out;
}

/** A PEP 440 specifier set (`==0.4.0`, `>=0.3.0,<0.5.0`, `~=1.2`), or nothing: no shell text in it. */
const SPECIFIER_SET_RE =
  /^(?:(?:===|==|!=|~=|>=|<=|>|<)[A-Za-z0-9][A-Za-z0-9.*+!_-]*)(?:,(?:===|==|!=|~=|>=|<=|>|<)[A-Za-z0-9][A-Za-z0-9.*+!_-]*)*$/;

/**
 * The two texts differ in pin specifiers only, and every specifier of `current` is a real one: a
 * "pin" edited to `==1;curl …|sh` would otherwise pass for redeploy's own edit (and be restored by a
 * rollback).
 */
export function onlyPinsDiffer(base: string, current: string): boolean {
  if (withoutSpecifiers(base) !== withoutSpecifiers(current)) return false;
  const before = new Set(findPins(base).map((p) => p.specifier));
  return findPins(current).every(
    (p) =>
      p.specifier === '' || before.has(p.specifier) || SPECIFIER_SET_RE.test(p.specifier.replace(/\s+/g, '')),
  );
}

/** `abc123def456 (main)`, as the CLI, the report and the messages show a deployed commit. */
export function describeProvenance(p: Provenance | undefined | null): string {
  if (!p) return '—';
  const commit = p.deployed_commit ?? p.base_commit;
  // A promoted lane's proof travels with the commit: the Web UI details, `status` and the notifications show it.
  const proof = [
    ...(p.image_revision ? [`image revision ${p.image_revision} verified`] : []),
    ...(p.proven_by ? [`proven by ${p.proven_by}`] : []),
  ];
  return `origin/${p.ref} @ ${commit ? commit.slice(0, 12) : '(not fetched yet)'}${proof.length ? ` (${proof.join('; ')})` : ''}`;
}

/**
 * Pins of packages nobody asked to change whose specifier differs from origin's (`base`): a hand edit
 * that onlyPinsDiffer would accept (it blanks every specifier). `pkg: base → current` for each.
 */
export function unrequestedPinChanges(base: string, current: string, requested: string[]): string[] {
  const asked = new Set(requested.map(normalizeName));
  const specs = (text: string) => findPins(text).map((p) => `${normalizeName(p.name)}\u0000${p.specifier}`);
  const a = specs(base);
  const b = specs(current);
  const out: string[] = [];
  // onlyPinsDiffer holds, so both lists have the same pins in the same order.
  a.forEach((entry, i) => {
    const [name = '', from = ''] = entry.split('\u0000');
    const to = (b[i] ?? '').split('\u0000')[1] ?? '';
    if (!asked.has(name) && from !== to) out.push(`${name}: ${from || 'unpinned'} → ${to || 'unpinned'}`);
  });
  return out;
}

/** Why nothing was deployed, in words: DEPLOY's status when known. */
export function notDeployedWhy(deploy: PhaseStatus | undefined): string {
  if (deploy === undefined || deploy === 'pending') return 'DEPLOY did not run';
  if (deploy === 'running' || deploy === 'failed') return 'DEPLOY did not complete';
  return `DEPLOY ${deploy}`;
}

/**
 * The Web UI header's line about what the run deploys: "Deploys" while DEPLOY is still to come,
 * "Deployed" once it completed, and "nothing" when it was skipped or the run ended without it.
 */
export function deployHeadline(p: Provenance, deploy: PhaseStatus, runOpen: boolean): string {
  if (p.deployed_commit || deploy === 'completed') return `Deployed: ${describeProvenance(p)}`;
  const settled = deploy !== 'pending' && deploy !== 'running' && deploy !== 'failed';
  if (settled || !runOpen)
    return `Deployed: nothing (${notDeployedWhy(deploy)}) · worktree at ${describeProvenance(p)}`;
  return `Deploys: ${describeProvenance(p)}`;
}
