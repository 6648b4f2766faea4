import path from 'node:path';
import fs from 'node:fs/promises';
import { runGit, unsafeRepositoryMessage } from '../io/git.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { readRegularFile } from '../io/safe-read.js';
import { DOCKERFILE_REL, infraClone, joinPath, originRef, worktreePathFor } from '../core/commands.js';
import { PHASE, PHASES, skippingOption, type Phase, type PreviewFacts } from '../core/phases.js';
import { unifiedDiff } from '../core/pins.js';
import { planPins, refusalMessage, verdictLine } from '../core/pin-policy.js';
import type { Config } from '../io/config.js';
import { needsForce } from '../io/deploy-force.js';
import { readEnvFile } from '../io/env-file.js';
import { INFISICAL_ENV, REQUIRED_ENV } from '../core/env-vars.js';
import type { RunRequest } from './args.js';
import {
  deployNeeds,
  deployScriptEnv,
  dirTree,
  infisicalScript,
  refTree,
  providedVars,
  type Needs,
} from '../io/infra-tree.js';
import { DEV_LANE, LaneError } from '../core/lanes.js';

const emptyNeeds: Needs = {
  checked: [],
  missing: [],
  lane: null,
  readsOperatorEnvFile: false,
  readback: false,
};

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

/**
 * The seed's `[DRY RUN]` block: each phase's commands as the activities would run them — built by the
 * same builders — with skips and --force resolved, then the unified diff of the pin change. Reads
 * files (env file, Dockerfile, pyproject) but writes none and needs no Temporal server.
 */
export async function dryRunLines(config: Config, runId: string, req: RunRequest): Promise<string[]> {
  const ticket = req.worktreeTicket ?? runId;
  const ref = req.ref ?? config.worktreeRef;
  const worktree = worktreePathFor(config.worktreeRoot, ticket);
  const worktreeExists = await exists(worktree);
  // Where the Dockerfile and pyproject are read from: the existing worktree, else the clone it would come from.
  const source = worktreeExists ? worktree : infraClone(config.omniHome);
  const env = await readEnvFile(config.envFile).catch(() => ({
    path: config.envFile,
    exists: false,
    vars: {} as Record<string, string>,
  }));
  const infisicalAddr = !!(env.vars['INFISICAL_ADDR'] || process.env['INFISICAL_ADDR']);
  // Today's omnibase_infra: what DEPLOY will need and the lane's endpoints, from the same tree.
  const processEnv = Object.fromEntries(
    Object.entries(process.env).filter((e): e is [string, string] => typeof e[1] === 'string'),
  );
  const lane = req.flags.lane || env.vars['ONEX_DEPLOY_LANE'] || processEnv['ONEX_DEPLOY_LANE'] || undefined;
  let needs: Needs | undefined;
  let laneProblem: string | undefined;
  try {
    // As ENV_CHECK reads it: the existing worktree, else origin/<ref> in the clone (not its checkout).
    const tree = worktreeExists
      ? dirTree(worktree)
      : ((await refTree(infraClone(config.omniHome), [`origin/${ref}`, ref])) ?? dirTree(source));
    needs = await deployNeeds(
      tree,
      { base: processEnv, fileVars: env.vars, fileExists: env.exists, filePath: env.path },
      lane,
      providedVars({ ...processEnv, ...env.vars }, config.omniHome),
    );
  } catch (err) {
    if (!(err instanceof LaneError)) throw err;
    laneProblem = err.message;
  }
  const endpoints = config.healthEndpointsSet || !needs?.lane ? config.healthEndpoints : needs.lane.endpoints;
  const container =
    config.versionContainerSet || !needs?.lane ? config.versionContainer : needs.lane.runtimeContainer;
  // What would be deployed is origin/<ref> as last fetched (a dry run fetches nothing).
  const clone = infraClone(config.omniHome);
  // Only the clone's own repository counts (not one it happens to sit inside).
  const top = await gitOut(clone, ['rev-parse', '--show-toplevel']);
  const isRepo = top !== undefined && (await fs.realpath(clone).catch(() => '')) === top;
  const base = isRepo
    ? await gitOut(clone, ['rev-parse', '--verify', '--quiet', `${originRef(ref)}^{commit}`])
    : undefined;
  const lines = [
    `[DRY RUN] redeploy run_id=${runId}`,
    `  Deploys origin/${ref}${base ? ` (last fetched: ${base.slice(0, 12)})` : ' (not fetched yet: WORKTREE fetches it)'}`,
  ];
  const runs = (phase: Phase) => skippingOption(phase, req.flags) === undefined;
  const envVars: string[] = [
    ...REQUIRED_ENV,
    ...(infisicalAddr && !req.flags.skipInfisical ? INFISICAL_ENV : []),
  ];
  const facts: PreviewFacts = {
    omniHome: config.omniHome,
    envFile: config.envFile,
    ticket,
    ref,
    worktree,
    worktreeExists,
    versions: req.versions,
    pinMode: config.pinMode,
    envVars,
    ...(needs ? { deployNeeds: { checked: needs.checked, missing: needs.missing.map((m) => m.name) } } : {}),
    ...(laneProblem ? { laneProblem } : {}),
    // Read only for a phase that would run (a skipped one's files may not exist).
    force: runs('DEPLOY') ? await needsForce(config.deployRoot, source, false) : { force: false, why: '' },
    ...(needs?.readsOperatorEnvFile || lane
      ? {
          deployEnv: deployScriptEnv(
            { ...processEnv, ...env.vars },
            env.path,
            config.omniHome,
            needs ?? emptyNeeds,
            lane,
            req.versions,
          ),
        }
      : {}),
    infisicalScript: infisicalAddr && runs('INFISICAL') ? await infisicalScript(source) : null,
    endpoints,
    verifyTimeoutMs: config.verifyTimeoutMs,
    ...(needs?.lane && !config.healthEndpointsSet ? { laneEndpoints: needs.lane.lane } : {}),
    container,
  };
  for (const phase of PHASES) {
    const skip = skippingOption(phase, req.flags);
    const [first = '', ...rest] = skip ? [`[skipped: ${skip}]`] : PHASE[phase].preview(facts);
    lines.push(`  ${`${phase}:`.padEnd(12)}${first}`, ...rest.map((text) => `  ${''.padEnd(12)}${text}`));
  }

  if (!req.flags.verifyOnly && !req.flags.skipDockerfileUpdate) {
    // The Dockerfile that would be deployed: origin/<ref>'s, else the nearest copy on disk.
    const fromOrigin = base ? await gitOut(clone, ['show', `${base}:${DOCKERFILE_REL}`], false) : undefined;
    const dockerfile =
      fromOrigin !== undefined ? `origin/${ref}:${DOCKERFILE_REL}` : joinPath(source, DOCKERFILE_REL);
    const text =
      fromOrigin ??
      (await readRegularFile(joinPath(source, DOCKERFILE_REL), { maxBytes: 1024 * 1024 }).catch(
        () => undefined,
      ));
    lines.push('');
    if (text === undefined) {
      lines.push(`(no ${DOCKERFILE_REL} reachable at ${dockerfile}: pin diff not shown)`);
    } else {
      // The verdict PIN_UPDATE will reach: one function (core/pin-policy.ts) for both.
      const policy = req.flags.pinPolicy ?? 'edit';
      const plan = planPins(text, req.versions, policy);
      lines.push(
        policy === 'admit'
          ? `Pin policy admit on lane ${lane ?? DEV_LANE} (pins from ${dockerfile}):`
          : `Pin policy edit on lane ${lane ?? DEV_LANE}:`,
      );
      for (const v of plan.verdicts) lines.push(`  ${verdictLine(v)}`);
      if (policy === 'admit') {
        if (plan.refused.length > 0) {
          // Only what this clone already knows of origin's branches: a dry run fetches nothing.
          const known = await gitOut(clone, [
            'for-each-ref',
            '--format=%(refname:strip=3)',
            'refs/remotes/origin/automation/',
          ]);
          const branches = new Set((known ?? '').split('\n').filter((b) => b !== ''));
          lines.push(`PIN_UPDATE would fail: ${refusalMessage(plan.refused, ref, branches)}`);
        } else {
          lines.push('(no change: origin/' + ref + ' is built as it is)');
        }
      } else {
        if (plan.unmatched.length)
          lines.push(
            `WARNING: ${plan.unmatched.join(', ')} not found in ${DOCKERFILE_REL}: PIN_UPDATE would fail`,
          );
        for (const [pkg, why] of Object.entries(plan.notRewritable))
          lines.push(`WARNING: ${pkg} ${why}: PIN_UPDATE would fail`);
        lines.push(`Pin change (from ${dockerfile}):`);
        const diff = unifiedDiff(text, plan.text, DOCKERFILE_REL);
        lines.push(diff || '(no change: pins already at the requested versions)');
      }
    }
  }
  return lines;
}
