import path from 'node:path';
import fs from 'node:fs/promises';
import { runGit, unsafeRepositoryMessage } from '../io/git.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { readRegularFile } from '../io/safe-read.js';
import { DOCKERFILE_REL, infraClone, joinPath, originRef, worktreePathFor } from '../core/commands.js';
import { PHASE, PHASES, skippingOption, type PreviewFacts } from '../core/phases.js';
import { unifiedDiff } from '../core/pins.js';
import { planPins, refusalMessage, verdictLine } from '../core/pin-policy.js';
import type { Config } from '../io/config.js';
import { needsForce } from '../io/deploy-force.js';
import { readEnvFile } from '../io/env-file.js';
import type { RunRequest } from './args.js';
import {
  deployNeeds,
  dirTree,
  infisicalScriptsIn,
  PLAN_FILES,
  refTree,
  type Tree,
} from '../io/infra-tree.js';
import {
  chosenLane,
  deployScriptEnv,
  infisicalRuns,
  NO_NEEDS,
  planInfisical,
  planRequiredEnv,
  planVerifyTargets,
  providedVars,
  type Needs,
} from '../core/plan.js';
import { SEED_INFISICAL } from '../core/commands.js';
import { DEV_LANE, LaneError } from '../core/lanes.js';

const exists = (p: string) =>
  fs.stat(p).then(
    () => true,
    () => false,
  );

/** One read-only git query; `undefined` when it fails (no clone, ref not fetched). */
async function gitOut(cwd: string, args: string[], trim = true): Promise<string | undefined> {
  // Bounded: a dry run must answer even when the clone sits on a hung mount.
  // Every call here is in the infra clone: its parent is OMNI_HOME, where no `git` is looked up.
  const r = await runGit(['-C', cwd, ...args], { timeoutMs: 10_000, untrustedDirs: [path.dirname(cwd)] });
  // A repository git refuses for its owner: the dry run says so instead of showing nothing.
  if (r.unsafe) throw new CliError(unsafeRepositoryMessage(r.unsafe), EXIT_USAGE);
  if (r.exitCode !== 0) return undefined;
  return trim ? r.stdout.trim() : r.stdout;
}

/** What the dry run knows before planning: where the run's files are, and the environment the phases see. */
interface DryContext {
  config: Config;
  req: RunRequest;
  ref: string;
  ticket: string;
  worktree: string;
  worktreeExists: boolean;
  /** Where the Dockerfile and pyproject are read from: the existing worktree, else the clone it would come from. */
  source: string;
  clone: string;
  envFile: { path: string; exists: boolean; vars: Record<string, string> };
  processEnv: Record<string, string>;
  /** As a phase sees it: the process's environment with the env file over it (activities/context.ts). */
  env: Record<string, string>;
  lane: string | undefined;
  originTree?: Tree | undefined;
  /** The tree planNeeds read: its commit's Dockerfile is read with it when that is origin/<ref>'s. */
  tree?: Tree | undefined;
}

/** origin/<ref> as last fetched (a dry run fetches nothing); undefined when not fetched. */
async function fetchedBase(c: DryContext): Promise<string | undefined> {
  // Only the clone's own repository counts (not one it happens to sit inside). One git for both answers:
  // it prints the top level, then the commit, and fails (no base either way) without a repository or ref.
  const out = await gitOut(c.clone, [
    'rev-parse',
    '--show-toplevel',
    '--verify',
    '--quiet',
    `${originRef(c.ref)}^{commit}`,
  ]);
  const [top, commit] = out?.split('\n') ?? [];
  const isRepo = top !== undefined && (await fs.realpath(c.clone).catch(() => '')) === top;
  return isRepo ? commit : undefined;
}

async function dryContext(config: Config, runId: string, req: RunRequest): Promise<DryContext> {
  const ticket = req.worktreeTicket ?? runId;
  const ref = req.ref ?? config.worktreeRef;
  const worktree = worktreePathFor(config.worktreeRoot, ticket);
  const worktreeExists = await exists(worktree);
  const clone = infraClone(config.omniHome);
  const envFile = await readEnvFile(config.envFile).catch(() => ({
    path: config.envFile,
    exists: false,
    vars: {} as Record<string, string>,
  }));
  const processEnv = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const env = { ...processEnv, ...envFile.vars };
  return {
    config,
    req,
    ref,
    ticket,
    worktree,
    worktreeExists,
    source: worktreeExists ? worktree : clone,
    clone,
    envFile,
    processEnv,
    env,
    lane: chosenLane(req.flags.lane, env),
  };
}

/** DEPLOY's plan over today's omnibase_infra, from the tree ENV_CHECK reads; a lane it lacks is a problem line. */
async function planNeeds(c: DryContext): Promise<{ needs?: Needs; laneProblem?: string }> {
  try {
    // As ENV_CHECK reads it: the existing worktree, else origin/<ref> in the clone (not its checkout).
    const tree = c.worktreeExists
      ? dirTree(c.worktree)
      : (c.originTree ??
        (await refTree(c.clone, [`origin/${c.ref}`, c.ref], undefined, PLAN_FILES)) ??
        dirTree(c.source));
    c.tree = tree;
    const needs = await deployNeeds(
      tree,
      {
        base: c.processEnv,
        fileVars: c.envFile.vars,
        fileExists: c.envFile.exists,
        filePath: c.envFile.path,
      },
      c.lane,
      providedVars(c.env, c.config.omniHome),
    );
    return { needs };
  } catch (err) {
    if (!(err instanceof LaneError)) throw err;
    return { laneProblem: err.message };
  }
}

/** Every phase's preview facts: the plans the activities would execute, resolved now. */
async function previewFacts(c: DryContext): Promise<PreviewFacts> {
  const { config, req } = c;
  const { needs, laneProblem } = await planNeeds(c);
  const targets = planVerifyTargets(config, needs?.lane, c.source);
  // The dry run shows seed-infisical.py when the tree has none of them (INFISICAL itself would fail).
  const infisicalScript = async () => planInfisical(await infisicalScriptsIn(c.source)) ?? SEED_INFISICAL;
  return {
    omniHome: config.omniHome,
    envFile: config.envFile,
    ticket: c.ticket,
    ref: c.ref,
    worktree: c.worktree,
    worktreeExists: c.worktreeExists,
    versions: req.versions,
    pinMode: config.pinMode,
    envVars: planRequiredEnv(c.env, !!req.flags.skipInfisical).checked,
    ...(needs ? { deployNeeds: { checked: needs.checked, missing: needs.missing.map((m) => m.name) } } : {}),
    ...(laneProblem ? { laneProblem } : {}),
    // Read whether or not DEPLOY runs (a skipped phase's preview is never printed): both reads are
    // best effort, a file that does not exist only answers "no".
    force: await needsForce(config.deployRoot, c.source, false),
    ...(needs?.readsOperatorEnvFile || c.lane
      ? {
          deployEnv: deployScriptEnv(
            c.env,
            c.envFile.path,
            config.omniHome,
            needs ?? NO_NEEDS,
            c.lane,
            req.versions,
          ),
        }
      : {}),
    infisicalScript: infisicalRuns(c.env) ? await infisicalScript() : null,
    endpoints: targets.endpoints,
    verifyTimeoutMs: config.verifyTimeoutMs,
    ...(targets.laneEndpoints ? { laneEndpoints: targets.laneEndpoints } : {}),
    container: targets.container,
  };
}

/**
 * The seed's `[DRY RUN]` block: each phase's commands as the activities would run them — built by the
 * same builders from the same plans (core/plan.ts) — with skips and --force resolved, then the pin
 * plan. Reads files (env file, Dockerfile, pyproject) but writes none and needs no Temporal server.
 */
export async function dryRunLines(
  config: Config,
  runId: string,
  req: RunRequest,
  /** origin/<ref>'s tree when the caller has read it already (the run policy has). */
  originTree?: Tree,
): Promise<string[]> {
  const c = { ...(await dryContext(config, runId, req)), originTree };
  // The tree is read before the clone is asked for its base: a refused clone fails the same way as before.
  const facts = await previewFacts(c);
  const base = await fetchedBase(c);
  const lines = [
    `[DRY RUN] redeploy run_id=${runId}`,
    `  Deploys origin/${c.ref}${base ? ` (last fetched: ${base.slice(0, 12)})` : ' (not fetched yet: WORKTREE fetches it)'}`,
  ];
  for (const phase of PHASES) {
    const skip = skippingOption(phase, req.flags);
    const [first = '', ...rest] = skip ? [`[skipped: ${skip}]`] : PHASE[phase].preview(facts);
    lines.push(`  ${`${phase}:`.padEnd(12)}${first}`, ...rest.map((text) => `  ${''.padEnd(12)}${text}`));
  }
  if (!req.flags.verifyOnly && !req.flags.skipDockerfileUpdate) lines.push('', ...(await pinLines(c, base)));
  return lines;
}

/** PIN_UPDATE's plan (core/pin-policy.ts): the verdicts, then the refusal or the diff it would write. */
async function pinLines(c: DryContext, base: string | undefined): Promise<string[]> {
  // The Dockerfile that would be deployed: origin/<ref>'s, else the nearest copy on disk.
  // The same object when the tree read above is of that commit (it read the Dockerfile along).
  const fromOrigin = !base
    ? undefined
    : c.tree?.commit === base
      ? await c.tree.read(DOCKERFILE_REL)
      : await gitOut(c.clone, ['show', `${base}:${DOCKERFILE_REL}`], false);
  const dockerfile =
    fromOrigin !== undefined ? `origin/${c.ref}:${DOCKERFILE_REL}` : joinPath(c.source, DOCKERFILE_REL);
  const text =
    fromOrigin ??
    (await readRegularFile(joinPath(c.source, DOCKERFILE_REL), { maxBytes: 1024 * 1024 }).catch(
      () => undefined,
    ));
  if (text === undefined) return [`(no ${DOCKERFILE_REL} reachable at ${dockerfile}: pin diff not shown)`];
  // The verdict PIN_UPDATE will reach: one function (core/pin-policy.ts) for both.
  const policy = c.req.flags.pinPolicy ?? 'edit';
  const plan = planPins(text, c.req.versions, policy);
  const lane = c.lane ?? DEV_LANE;
  const lines = [
    policy === 'admit'
      ? `Pin policy admit on lane ${lane} (pins from ${dockerfile}):`
      : `Pin policy edit on lane ${lane}:`,
    ...plan.verdicts.map((v) => `  ${verdictLine(v)}`),
  ];
  if (policy === 'admit') {
    if (plan.refused.length === 0) return [...lines, '(no change: origin/' + c.ref + ' is built as it is)'];
    // Only what this clone already knows of origin's branches: a dry run fetches nothing.
    const known = await gitOut(c.clone, [
      'for-each-ref',
      '--format=%(refname:strip=3)',
      'refs/remotes/origin/automation/',
    ]);
    const branches = new Set((known ?? '').split('\n').filter((b) => b !== ''));
    return [...lines, `PIN_UPDATE would fail: ${refusalMessage(plan.refused, c.ref, branches)}`];
  }
  if (plan.unmatched.length)
    lines.push(`WARNING: ${plan.unmatched.join(', ')} not found in ${DOCKERFILE_REL}: PIN_UPDATE would fail`);
  for (const [pkg, why] of Object.entries(plan.notRewritable))
    lines.push(`WARNING: ${pkg} ${why}: PIN_UPDATE would fail`);
  lines.push(`Pin change (from ${dockerfile}):`);
  const diff = unifiedDiff(text, plan.text, DOCKERFILE_REL);
  lines.push(diff || '(no change: pins already at the requested versions)');
  return lines;
}
