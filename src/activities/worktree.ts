import fs from 'node:fs/promises';
import {
  DOCKERFILE_REL,
  infraClone,
  joinPath,
  pullInfraCommand,
  worktreeAddCommand,
  worktreePathFor,
} from '../core/commands.js';
import { currentPins, currentSpecifiers } from '../core/pins.js';
import { ticketProblems } from '../core/ticket.js';
import type { Versions } from '../core/versions.js';
import {
  describeExit,
  PhaseError,
  tailText,
  withPhase,
  type ActivityDeps,
  type PhaseContext,
  type PhaseOutcome,
} from './context.js';

/** git errors no retry will fix; anything else (network, lock) is worth another attempt. */
const PERMANENT_GIT =
  /not possible to fast-forward|diverging branches|not a git repository|would be overwritten|conflict|already exists|is not a valid branch name|invalid reference/i;

async function exists(p: string): Promise<boolean> {
  return fs.stat(p).then(
    () => true,
    () => false,
  );
}

async function git(ctx: PhaseContext, args: string[], cwd: string) {
  return ctx.run({ file: 'git', args, cwd }, { timeoutMs: 60_000 });
}

/**
 * WORKTREE: `<worktree root>/<ticket>/omnibase_infra` on branch `<ticket>`. Reused when it is already on
 * that branch (re-running the phase is harmless); a path on another branch is a hard failure.
 */
export function makeWorktree(deps: ActivityDeps) {
  return async function worktree(
    runId: string,
    opts: { ticket: string; versions: Versions },
  ): Promise<PhaseOutcome> {
    return withPhase(deps, 'WORKTREE', runId, async (ctx) => {
      const problems = ticketProblems(opts.ticket);
      if (problems.length > 0) {
        throw new PhaseError(
          'InvalidTicket',
          `worktree ticket "${opts.ticket}" ${problems.join('; ')}`,
          false,
        );
      }
      const { omniHome, worktreeRoot } = ctx.config;
      const path = worktreePathFor(worktreeRoot, opts.ticket);
      // Display form and the specifiers' bytes (what a rollback writes back).
      const pinsFound = async () => {
        const text = await fs.readFile(joinPath(path, DOCKERFILE_REL), 'utf8').catch(() => '');
        const pkgs = Object.keys(opts.versions);
        return { pins_found: currentPins(text, pkgs), pins_found_raw: currentSpecifiers(text, pkgs) };
      };

      if (await exists(path)) {
        const r = await git(ctx, ['-C', path, 'branch', '--show-current'], path);
        if (r.exitCode !== 0) {
          throw new PhaseError(
            'WorktreeInvalid',
            `${path} exists but is not a git worktree (${tailText(r, 1)}); remove it or choose another --worktree-ticket`,
            false,
          );
        }
        const branch = r.stdout.trim();
        if (branch !== opts.ticket) {
          throw new PhaseError(
            'WorktreeWrongBranch',
            `Worktree at ${path} is on branch '${branch}', expected '${opts.ticket}'. ` +
              `Use another --worktree-ticket, or remove it: git -C ${infraClone(omniHome)} worktree remove ${path}`,
            false,
            { path, branch },
          );
        }
        ctx.log(`Reusing existing worktree at ${path}`);
        return { details: { path, reused: true, ...(await pinsFound()) } };
      }

      if (!(await exists(infraClone(omniHome)))) {
        throw new PhaseError(
          'InfraCloneMissing',
          `${infraClone(omniHome)} does not exist; check OMNI_HOME`,
          false,
        );
      }
      // A directory deleted by hand leaves its registration behind, and `worktree add` would refuse the path.
      await git(ctx, ['-C', infraClone(omniHome), 'worktree', 'prune'], omniHome);
      const pull = await ctx.run(pullInfraCommand(omniHome), { timeoutMs: 5 * 60_000 });
      if (pull.exitCode !== 0) {
        const text = pull.tail.join('\n');
        throw new PhaseError(
          'GitPullFailed',
          `git pull --ff-only in ${infraClone(omniHome)} failed (${describeExit(pull)}): ${tailText(pull)}`,
          !PERMANENT_GIT.test(text),
        );
      }
      // An attempt interrupted after `worktree add -b` leaves the branch at main's head: attach it. A branch
      // anywhere else is someone's older work, and deploying on top of it would be wrong.
      const rev = async (ref: string) => {
        const r = await git(
          ctx,
          ['-C', infraClone(omniHome), 'rev-parse', '--verify', '--quiet', ref],
          omniHome,
        );
        return r.exitCode === 0 ? r.stdout.trim() : undefined;
      };
      const branchAt = await rev(`refs/heads/${opts.ticket}`);
      const mainAt = await rev('refs/heads/main');
      if (branchAt !== undefined && branchAt !== mainAt) {
        throw new PhaseError(
          'BranchExists',
          `branch '${opts.ticket}' already exists in ${infraClone(omniHome)} at ${branchAt.slice(0, 12)}, not at main. ` +
            `Use another --worktree-ticket, or delete it: git -C ${infraClone(omniHome)} branch -D ${opts.ticket}`,
          false,
        );
      }
      const branchExists = branchAt !== undefined;
      await fs.mkdir(joinPath(worktreeRoot, opts.ticket), { recursive: true });
      const add = await ctx.run(worktreeAddCommand(omniHome, path, opts.ticket, !branchExists), {
        timeoutMs: 5 * 60_000,
      });
      if (add.exitCode !== 0) {
        throw new PhaseError(
          'WorktreeAddFailed',
          `git worktree add ${path} failed (${describeExit(add)}): ${tailText(add)}`,
          !PERMANENT_GIT.test(add.tail.join('\n')),
        );
      }
      return { details: { path, reused: false, ...(await pinsFound()) } };
    });
  };
}
