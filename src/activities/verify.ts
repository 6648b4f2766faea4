import type { PhaseResult } from '../core/run.js';
import type { HealthResult, ImageRevision, VerifiedAgainst, VersionResult } from '../core/details.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { DOCKERFILE_REL, imageRevisionCommand, infraClone, versionCheckCommand } from '../core/commands.js';
import { DEPLOY_SCRIPT_REL, DEV_LANE } from '../core/lanes.js';
import { planVerifyTargets, targetsNeedTree, type VerifyTargets } from '../core/plan.js';
import {
  PROMOTED_REF,
  REVISION_LABEL,
  mismatchLine,
  promotedLane,
  revisionProves,
} from '../core/pin-policy.js';
import { currentSpecifiers } from '../core/pins.js';
import { dirTree } from '../io/infra-tree.js';
import { maskUrlCredentials } from '../io/mask.js';
import { checkDeployNeeds, chosenLane } from './deploy-env.js';
import { locateWorktree, resolveCommit } from './worktree-guard.js';
import { normalizeName, sameVersion, type Versions } from '../core/versions.js';
import { describeExit, PhaseError, withPhase, type ActivityDeps, type PhaseContext } from './context.js';

/** Why an endpoint counts as failed, for the failure message. */
const unhealthyWhy = (h: HealthResult | undefined): string => (h?.status === 'unhealthy' ? h.error : '');

const POLL_INTERVAL_MS = 1000;
const REQUEST_TIMEOUT_MS = 5000;
const MAX_REDIRECTS = 5;

/**
 * One GET without fetch's own redirect following: a 3xx answers "healthy" for another server. With
 * `same-origin`, a redirect within the endpoint's origin is followed (up to 5); one to another origin,
 * or any 3xx without it, is the answer — unhealthy, saying where it pointed and the option.
 */
async function getOnce(
  url: string,
  redirects: 'none' | 'same-origin',
  signal: AbortSignal,
): Promise<{ code: number; error?: string }> {
  // fetch refuses a URL with user-info: it is sent as Basic auth instead, to the endpoint's origin only.
  const start = new URL(url);
  const auth =
    start.username || start.password
      ? `Basic ${Buffer.from(`${decodeURIComponent(start.username)}:${decodeURIComponent(start.password)}`).toString('base64')}`
      : undefined;
  start.username = '';
  start.password = '';
  let current = start.href;
  for (let hop = 0; ; hop++) {
    const res = await fetch(current, {
      redirect: 'manual',
      signal,
      ...(auth ? { headers: { authorization: auth } } : {}),
    });
    await res.body?.cancel();
    if (res.status < 300 || res.status >= 400) return { code: res.status };
    const location = res.headers.get('location');
    const target = location ? new URL(location, current) : undefined;
    const where = target ? maskUrlCredentials(target.href) : 'no Location';
    if (!target || redirects === 'none')
      return {
        code: res.status,
        error: `HTTP ${res.status} redirect to ${where} (not followed; REDEPLOY_VERIFY_REDIRECTS=same-origin follows one to the same origin)`,
      };
    if (target.origin !== start.origin)
      return {
        code: res.status,
        error: `HTTP ${res.status} redirect to another origin (${where}): not followed`,
      };
    if (hop + 1 >= MAX_REDIRECTS) return { code: res.status, error: `more than ${MAX_REDIRECTS} redirects` };
    current = target.href;
  }
}

/**
 * Polls one endpoint until it answers 2xx or the deadline passes. Containers were just recreated, so a
 * refused connection in the first seconds is expected, not a failure.
 */
async function pollHealth(
  endpoint: string,
  deadline: number,
  started: number,
  signal: AbortSignal,
  redirects: 'none' | 'same-origin' = 'none',
): Promise<HealthResult> {
  // Recorded and printed without its password (the result is kept in the state and the history).
  const url = maskUrlCredentials(endpoint);
  let last: { code: number | null; error: string } = { code: null, error: 'not polled' };
  for (;;) {
    try {
      const res = await getOnce(
        endpoint,
        redirects,
        AbortSignal.any([signal, AbortSignal.timeout(REQUEST_TIMEOUT_MS)]),
      );
      if (res.error === undefined && res.code >= 200 && res.code < 300)
        return { url, status: 'healthy', code: res.code, after_ms: Date.now() - started };
      last = { code: res.code, error: res.error ?? `HTTP ${res.code}` };
    } catch (err) {
      if (signal.aborted) throw err;
      const cause = (err as { cause?: { code?: string } }).cause?.code;
      last = { code: null, error: cause ?? (err instanceof Error ? err.message : String(err)) };
    }
    if (Date.now() + POLL_INTERVAL_MS > deadline) return { url, status: 'unhealthy', ...last };
    await sleep(POLL_INTERVAL_MS, undefined, { signal });
  }
}

/** One request (what the endpoint answers now), for reports outside VERIFY's polling. */
export function probeHealth(url: string, signal: AbortSignal): Promise<HealthResult> {
  const now = Date.now();
  return pollHealth(url, now, now, signal);
}

/**
 * VERIFY's endpoints and version container: REDEPLOY_HEALTH_ENDPOINTS / REDEPLOY_VERSION_CONTAINER when
 * set; else the lane's, from the tree's runtime-policy.env (today's omnibase_infra); else the seed's.
 */
export async function verifyTargets(
  ctx: PhaseContext,
  worktree: () => Promise<string | undefined>,
  lane: string | undefined,
): Promise<VerifyTargets> {
  const { config } = ctx;
  if (!targetsNeedTree(config)) return planVerifyTargets(config, null, '');
  // --verify-only has no worktree: the clone's checkout describes the running stack best.
  const wt = await worktree();
  const dir = wt ?? infraClone(config.omniHome);
  const facts = (await checkDeployNeeds(ctx, dirTree(dir), lane, { lenient: true })).lane;
  return planVerifyTargets(config, facts, dir);
}

/** Parses `uv pip show a b c`: `Name:`/`Version:` blocks separated by `---`. Keys are PEP 503-normalised. */
export function parsePipShow(stdout: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const block of stdout.split(/^---\s*$/m)) {
    const name = /^Name:\s*(.+)$/m.exec(block)?.[1]?.trim();
    const version = /^Version:\s*(.+)$/m.exec(block)?.[1]?.trim();
    if (name && version) found.set(normalizeName(name), version);
  }
  return found;
}

async function checkVersions(
  ctx: PhaseContext,
  versions: Versions,
  container: string,
): Promise<Record<string, VersionResult>> {
  const packages = Object.keys(versions);
  if (packages.length === 0) return {}; // a rollback to ranges only: health alone can be checked
  // One `docker exec` for all packages: each exec costs a container round trip.
  const r = await ctx.run(versionCheckCommand(container, packages, ctx.config.omniHome), {
    timeoutMs: 60_000,
  });
  const found = parsePipShow(r.stdout);
  const failed = found.size === 0 && r.exitCode !== 0;
  return Object.fromEntries(
    packages.map((pkg) => {
      const expected = versions[pkg] as string;
      const actual = found.get(normalizeName(pkg)) ?? null;
      // PEP 440 equality: --versions pkg=0.4 matches an installed 0.4.0.
      const result: VersionResult = {
        expected,
        actual,
        ok: actual !== null && sameVersion(actual, expected),
      };
      if (failed) result.error = `container check failed (${describeExit(r)}: ${r.tail.at(-1) ?? ''})`;
      return [pkg, result];
    }),
  );
}

/**
 * A promoted lane: whether it is one (from the worktree's deploy script, else the clone's), and the
 * specifiers origin pins (for "resolved to" messages) — read from the same tree.
 */
async function laneTree(
  ctx: PhaseContext,
  worktree: () => Promise<string | undefined>,
  lane: string | undefined,
  packages: string[],
): Promise<{ promoted: boolean; specifiers: Record<string, string> }> {
  const wt = await worktree();
  const tree = dirTree(wt ?? infraClone(ctx.config.omniHome));
  const [script, dockerfile] = await Promise.all([tree.read(DEPLOY_SCRIPT_REL), tree.read(DOCKERFILE_REL)]);
  return {
    promoted: promotedLane(lane ?? DEV_LANE, script).promoted,
    specifiers: dockerfile === undefined ? {} : currentSpecifiers(dockerfile, packages),
  };
}

/** `docker inspect` of the running container: its revision label (null when docker cannot tell). */
async function imageRevision(
  ctx: PhaseContext,
  container: string,
  expected: string | null,
): Promise<ImageRevision & { why: string }> {
  const r = await ctx.run(imageRevisionCommand(container), { timeoutMs: 60_000 });
  const label = r.exitCode === 0 ? r.stdout.trim() : null;
  const verdict =
    r.exitCode === 0
      ? revisionProves(label, expected)
      : { ok: false, why: `docker inspect ${container} failed (${describeExit(r)}: ${r.tail.at(-1) ?? ''})` };
  return { container, label, expected, ok: verdict.ok, why: verdict.why };
}

/** Every endpoint polled in parallel until the deadline, heartbeating meanwhile; each result logged. */
async function checkHealth(
  ctx: PhaseContext,
  endpoints: Record<string, string>,
  started: number,
  signal: AbortSignal = ctx.signal,
): Promise<Record<string, HealthResult>> {
  const deadline = started + ctx.config.verifyTimeoutMs;
  const beat = setInterval(() => ctx.heartbeat('polling health endpoints'), 2000);
  let health: Record<string, HealthResult>;
  try {
    const entries = await Promise.all(
      Object.entries(endpoints).map(
        async ([name, url]) =>
          [name, await pollHealth(url, deadline, started, signal, ctx.config.verifyRedirects)] as const,
      ),
    );
    health = Object.fromEntries(entries);
  } finally {
    clearInterval(beat);
  }
  for (const [name, h] of Object.entries(health)) {
    ctx.log(`VERIFY: ${name} ${h.url} -> ${h.status === 'healthy' ? `${h.code} OK` : `FAILED (${h.error})`}`);
  }
  return health;
}

/** What VERIFY found, as the operator reads it: every problem at once. */
interface Findings {
  health: Record<string, HealthResult>;
  versions: Record<string, VersionResult>;
  revision: (ImageRevision & { why: string }) | undefined;
  container: string;
  specifiers: Record<string, string>;
}

/** The failure's message and details, or undefined when everything checked out. */
function verifyFailure(f: Findings): { message: string; details: Record<string, unknown> } | undefined {
  const failedHealth = Object.entries(f.health)
    .filter(([, h]) => h.status !== 'healthy')
    .map(([n]) => n);
  const failedVersions = Object.entries(f.versions)
    .filter(([, v]) => !v.ok)
    .map(([pkg, v]) =>
      v.error
        ? `${pkg}: ${v.error}`
        : v.actual === null
          ? `${pkg}: not installed in ${f.container}`
          : mismatchLine(pkg, v.expected, v.actual, f.specifiers[pkg]),
    );
  if (!failedHealth.length && !failedVersions.length && (!f.revision || f.revision.ok)) return undefined;
  const parts = [
    failedHealth.length
      ? `Health checks failed for: ${failedHealth.map((n) => `${n} (${unhealthyWhy(f.health[n])})`).join(', ')}`
      : '',
    failedVersions.length ? `Version mismatches: ${failedVersions.join('; ')}` : '',
    f.revision && !f.revision.ok ? `Image revision: ${f.revision.why}` : '',
  ].filter(Boolean);
  return {
    message: `VERIFY FAILED: ${parts.join('. ')}`,
    details: { failed_health: failedHealth, failed_versions: failedVersions },
  };
}

/** The image revision as recorded (without the reason, which the failure message carries). */
const imageDetails = (revision: ImageRevision | undefined) =>
  revision
    ? {
        image_revision: {
          container: revision.container,
          label: revision.label,
          expected: revision.expected,
          ok: revision.ok,
        },
      }
    : {};

/** A promoted lane proves the image too: its revision label must be the commit DEPLOY built. */
async function promotedRevision(
  ctx: PhaseContext,
  container: string,
  against: VerifiedAgainst | undefined,
): Promise<ImageRevision & { why: string }> {
  const revision = await imageRevision(
    ctx,
    container,
    // --verify-only deployed nothing: promoted main (as last fetched) is what must run.
    against?.commit ??
      (await resolveCommit(ctx, infraClone(ctx.config.omniHome), `origin/${PROMOTED_REF}`)) ??
      null,
  );
  ctx.log(
    `VERIFY: ${container} ${REVISION_LABEL}=${revision.label ?? '(none)'} (deployed ${revision.expected ?? '?'}) -> ${revision.ok ? 'OK' : 'MISMATCH'}`,
  );
  return revision;
}

/** VERIFY: every health endpoint (in parallel, until a deadline) and every version (one docker exec). */
export function makeVerify(deps: ActivityDeps) {
  return async function verify(
    runId: string,
    /** `against`: what DEPLOY deployed (provenance), recorded next to the result of the checks. */
    opts: {
      versions: Versions;
      against?: VerifiedAgainst;
      ticket?: string;
      lane?: string;
    },
  ): Promise<PhaseResult<'VERIFY'>> {
    return withPhase(
      deps,
      'VERIFY',
      runId,
      async (ctx) => {
        // The worktree is located once for both reads below (each location is two git spawns).
        let located: Promise<string | undefined> | undefined;
        const worktree = () =>
          (located ??= opts.ticket ? locateWorktree(ctx, opts.ticket) : Promise.resolve(undefined));
        const { endpoints, container, source } = await verifyTargets(
          ctx,
          worktree,
          chosenLane(ctx, opts.lane),
        );
        ctx.log(`VERIFY: endpoints from ${source}; versions from container ${container}`);
        const started = Date.now();
        // The version check runs alongside the health polling: usually the containers are already up, and
        // the two waits overlap. If it finds a problem it runs once more after health settles (a container
        // that was still restarting answers then).
        const earlyVersions = checkVersions(ctx, opts.versions, container);
        earlyVersions.catch(() => undefined); // awaited below; if health throws first, its rejection must not go unhandled
        // Health polling starts at once too; the lane's tree is read meanwhile.
        const stopPolling = new AbortController();
        const polled = checkHealth(
          ctx,
          endpoints,
          started,
          AbortSignal.any([ctx.signal, stopPolling.signal]),
        );
        polled.catch(() => undefined); // awaited below, after the tree
        const lane = chosenLane(ctx, opts.lane);
        const tree = await laneTree(ctx, worktree, lane, Object.keys(opts.versions)).catch(async (err) => {
          stopPolling.abort(); // nothing left running behind the failure
          await Promise.allSettled([polled, earlyVersions]);
          throw err;
        });
        const health = await polled;
        // Versions are reported even when health failed: the operator gets every problem at once.
        let versions = await earlyVersions;
        if (Object.values(versions).some((v) => !v.ok))
          versions = await checkVersions(ctx, opts.versions, container);
        for (const [pkg, v] of Object.entries(versions)) {
          ctx.log(
            `VERIFY: ${pkg} Version: ${v.actual ?? 'not installed'} (expected ${v.expected}) -> ${v.ok ? 'OK' : 'MISMATCH'}`,
          );
        }
        const revision = tree.promoted ? await promotedRevision(ctx, container, opts.against) : undefined;
        const failure = verifyFailure({ health, versions, revision, container, specifiers: tree.specifiers });
        if (failure) {
          throw new PhaseError('VerifyFailed', failure.message, {
            retryable: false,
            details: {
              // Already polled until the deadline; an automatic retry would only double the wait.
              verified_against: opts.against ?? null,
              ...failure.details,
              health,
              versions,
              ...imageDetails(revision),
            },
          });
        }
        // Health and versions are what the stack answered: output, masked like any command output.
        return {
          details: {
            verified_against: opts.against ?? null,
            ...(opts.lane ? { lane: opts.lane } : {}),
            ...imageDetails(revision),
          },
          output: { health, versions },
        };
      },
      opts.ticket ? { ticket: opts.ticket } : {},
    );
  };
}
