import { LANE_RE } from '../core/lanes.js';
import { TARGET_RE } from '../core/task-queue.js';
import { isPinPolicy } from '../core/pin-policy.js';
import { parseArgs } from 'node:util';
import { parseVersions, type Versions } from '../core/versions.js';
import { refProblems } from '../core/ref.js';
import { ticketProblems } from '../core/ticket.js';
import { PHASES, isPhase, type Phase } from '../core/phases.js';
import { RUN_ID_RE } from '../core/schemas.js';
import type { RedeployFlags } from '../core/state.js';
import { RUN_OPTIONS, STATE_FLAGS, rowOf, type RunParseOptions } from '../core/flags.js';
import { flagsSchema } from '../core/schemas.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { prog } from '../io/invocation.js';

/** Bad input: every problem is collected and printed; exit 2; nothing is started or written. */
export class UsageError extends CliError {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'), EXIT_USAGE);
  }

  override lines(): string[] {
    return [...this.problems.map((p) => `redeploy: ${p}`), `Run \`${prog()} --help\` for usage.`];
  }
}

export interface OutputOptions {
  json: boolean;
  detach: boolean;
}

export function targetProblems(target: string | undefined): string[] {
  if (target === undefined || TARGET_RE.test(target)) return [];
  return [`--target "${target}" is not a host name (letters, digits, "." and "-")`];
}

export interface RunRequest {
  versions: Versions;
  flags: RedeployFlags;
  worktreeTicket: string | undefined;
  /** `--ref`: the origin branch to deploy; else REDEPLOY_WORKTREE_REF, else `main`. */
  ref?: string | undefined;
}

export type Command =
  | ({
      kind: 'run';
      req: RunRequest;
      dryRun: boolean;
      target: string | undefined;
      autoVersions: boolean;
      /** `--pin-policy` as given (decided with the lane and the env var by cli/pin-policy.ts). */
      pinPolicy: string | undefined;
      /** `--require-proven LANE` (or REDEPLOY_REQUIRE_PROVEN on a promoted lane, set by the CLI). */
      requireProven: string | undefined;
    } & OutputOptions)
  | ({
      kind: 'resume';
      runId: string;
      versions: Versions | undefined;
      flags: RedeployFlags;
      worktreeTicket: string | undefined;
      target: string | undefined;
      ref: string | undefined;
      pinPolicy: string | undefined;
    } & OutputOptions)
  | ({
      kind: 'status' | 'watch' | 'retry' | 'abort' | 'cancel' | 'report';
      runId: string;
      phase: Phase | undefined;
    } & OutputOptions)
  | ({ kind: 'skip'; runId: string; phase: Phase } & OutputOptions)
  | ({ kind: 'list' } & OutputOptions)
  | { kind: 'worker'; target: string | undefined; metrics?: string }
  | { kind: 'server'; stop: boolean }
  | { kind: 'help' }
  | { kind: 'version' };

export { RUN_OPTIONS };

/** `redeploy worker --metrics <host:port>`, or this variable: where the Prometheus endpoint listens. */
export const METRICS_ENV = 'REDEPLOY_METRICS';

/** `host:port` (`[v6]:port` for IPv6) → the exporter's bind address; anything else says how to write it. */
export function metricsAddress(value: string, from: string): string {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value);
  const port = Number(m?.[2]);
  if (!m || port < 1 || port > 65535)
    throw new UsageError([
      `${from} "${value}" is not host:port (e.g. 127.0.0.1:9464, or 0.0.0.0:9464 for every interface)`,
    ]);
  return value;
}

export const OPERATOR_OPTIONS = {
  phase: { type: 'string' },
  target: { type: 'string' },
  metrics: { type: 'string' },
  stop: { type: 'boolean', default: false },
  json: { type: 'boolean', default: false },
  detach: { type: 'boolean', default: false },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

export const OPERATOR_COMMANDS = [
  'status',
  'watch',
  'retry',
  'skip',
  'abort',
  'cancel',
  'list',
  'report',
  'worker',
  'server',
] as const;

/** node's parseArgs messages name the option; they become usage errors (exit 2). */
function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new UsageError([(err as Error).message.replace(/\. To specify a positional argument.*$/s, '')]);
  }
}

type Options = typeof RUN_OPTIONS | typeof OPERATOR_OPTIONS;

/**
 * parseArgs keeps the last of a repeated option: `--ref main --ref x` would deploy x. Every option that
 * takes a value may be given once (exit 2 otherwise); a repeated boolean changes nothing and is allowed.
 */
function parseOnce<O extends Options>(argv: string[], options: O) {
  const parsed = guarded(() =>
    parseArgs({ args: argv, options, strict: true, allowPositionals: true, tokens: true }),
  );
  const seen = new Map<string, string[]>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || (options as Record<string, { type: string }>)[t.name]?.type !== 'string')
      continue;
    seen.set(t.name, [...(seen.get(t.name) ?? []), t.value ?? '']);
  }
  const problems = [...seen]
    .filter(([, values]) => values.length > 1)
    .map(
      ([name, values]) =>
        `--${name} was given ${values.length} times (${values.map((v) => JSON.stringify(v)).join(', ')}); give it once` +
        (name === 'versions' ? ' (list every package in one: --versions "a=1,b=2")' : ''),
    );
  if (problems.length) throw new UsageError(problems);
  return parsed;
}

export function runIdProblems(runId: string, label: string): string[] {
  return RUN_ID_RE.test(runId)
    ? []
    : [
        `${label} "${runId}" is not a run id (expected redeploy-YYYYMMDD-xxxxxx, e.g. redeploy-20260301-abc123)`,
      ];
}

function parseOperator(kind: (typeof OPERATOR_COMMANDS)[number], argv: string[]): Command {
  const { values, positionals } = parseOnce(argv, OPERATOR_OPTIONS);
  if (values.help) return { kind: 'help' };
  if (kind === 'worker') {
    if (positionals.length || values.phase || values.stop)
      throw new UsageError(['`redeploy worker` takes only --target HOST and --metrics HOST:PORT']);
    const problems = targetProblems(values.target);
    if (problems.length) throw new UsageError(problems);
    if (values.metrics === undefined) return { kind: 'worker', target: values.target };
    return { kind: 'worker', target: values.target, metrics: metricsAddress(values.metrics, '--metrics') };
  }
  if (kind === 'server') {
    if (positionals.length || values.phase || values.target)
      throw new UsageError(['`redeploy server` takes only --stop']);
    return { kind: 'server', stop: values.stop };
  }
  if (values.metrics !== undefined)
    throw new UsageError([`--metrics applies to \`redeploy worker\` only, not \`redeploy ${kind}\``]);
  if (values.target !== undefined) throw new UsageError([`--target does not apply to \`redeploy ${kind}\``]);
  if (values.stop) throw new UsageError([`--stop does not apply to \`redeploy ${kind}\``]);
  const out = { json: values.json, detach: values.detach };
  if (kind === 'list') {
    if (positionals.length) throw new UsageError(['`redeploy list` takes no run id']);
    return { kind: 'list', ...out };
  }
  const problems: string[] = [];
  const [runId, ...extra] = positionals;
  if (runId === undefined)
    problems.push(
      `\`redeploy ${kind}\` needs a run id: redeploy ${kind}${kind === 'skip' ? ' --phase PHASE' : ''} <run_id>`,
    );
  else problems.push(...runIdProblems(runId, 'run id'));
  if (extra.length) problems.push(`unexpected argument${extra.length > 1 ? 's' : ''}: ${extra.join(' ')}`);
  let phase: Phase | undefined;
  if (values.phase !== undefined) {
    if (isPhase(values.phase)) phase = values.phase;
    else problems.push(`--phase "${values.phase}" is not a phase (${PHASES.join(', ')})`);
  } else if (kind === 'skip') {
    problems.push('`redeploy skip` needs --phase PHASE: name the failed phase you mean to skip');
  }
  if (phase && !['retry', 'skip', 'abort'].includes(kind))
    problems.push(`--phase does not apply to \`redeploy ${kind}\``);
  if (problems.length) throw new UsageError(problems);
  if (kind === 'skip') return { kind, runId: runId as string, phase: phase as Phase, ...out };
  return { kind, runId: runId as string, phase, ...out };
}

/** The option values parseArgs gives for the run options. */
type RunValues = ReturnType<typeof parseOnce<RunParseOptions>>['values'];

/** `--versions`: a list, `auto` (each plugin's latest v* tag, resolved after validation: it reads git), or none. */
function versionsOf(values: RunValues, problems: string[]): Versions | undefined {
  if (values.versions === 'auto') {
    if (values.resume !== undefined)
      problems.push(
        '--versions auto cannot be combined with --resume: a resumed run keeps its recorded versions',
      );
    return undefined;
  }
  if (values.versions !== undefined) {
    const parsed = parseVersions(values.versions);
    if (parsed.ok) return parsed.value;
    problems.push(...parsed.errors);
  } else if (values.resume === undefined) {
    problems.push(
      '--versions is required (unless --resume), e.g. --versions "omninode-claude=0.4.0,omniintelligence=0.8.0"',
    );
  }
  return undefined;
}

/** The values' own problems: tickets, refs, names and their formats. */
function valueProblems(values: RunValues): string[] {
  const problems: string[] = [];
  const ticket = values['worktree-ticket'];
  if (ticket !== undefined)
    // JSON quoting: a ticket with control characters is shown escaped, never sent raw to the terminal.
    for (const p of ticketProblems(ticket)) problems.push(`--worktree-ticket ${JSON.stringify(ticket)} ${p}`);
  const ref = values.ref;
  if (ref !== undefined) for (const p of refProblems(ref)) problems.push(`--ref "${ref}" ${p}`);
  if (values.resume !== undefined) problems.push(...runIdProblems(values.resume, '--resume'));
  problems.push(...targetProblems(values.target));
  // The lane's existence is checked against the worktree's runtime-policy.env (ENV_CHECK); the name here.
  if (values.lane !== undefined && !LANE_RE.test(values.lane))
    problems.push(
      `--lane "${values.lane}" is not a lane name (lowercase letters, digits, "-"; e.g. stability-test)`,
    );
  const pinPolicy = values['pin-policy'];
  if (pinPolicy !== undefined && !isPinPolicy(pinPolicy))
    problems.push(
      `--pin-policy "${pinPolicy}" is not a pin policy: edit (write ==version in the worktree) or admit (origin's specifier must admit it)`,
    );
  const proven = values['require-proven'];
  if (proven !== undefined && !LANE_RE.test(proven))
    problems.push(`--require-proven "${proven}" is not a lane name (e.g. stability-test)`);
  return problems;
}

/** Options that cannot go together. */
function comboProblems(values: RunValues): string[] {
  const problems: string[] = [];
  if (values.resume !== undefined && values['dry-run'])
    problems.push('--dry-run cannot be combined with --resume');
  if (values['dry-run'] && values.detach)
    problems.push('--dry-run cannot be combined with --detach (a dry run starts nothing)');
  if (values['require-proven'] !== undefined && values.resume !== undefined)
    problems.push(
      '--require-proven cannot be combined with --resume (the run resumed was proven, or not, when it started)',
    );
  if (values['verify-only'] && values['rollback-on-failure'])
    problems.push(
      '--rollback-on-failure cannot be combined with --verify-only (a verify-only run deploys nothing)',
    );
  if (values['skip-dockerfile-update'] && values['rollback-on-failure'])
    problems.push(
      '--rollback-on-failure needs PIN_UPDATE (the pins it replaces are what it restores); drop --skip-dockerfile-update',
    );
  return problems;
}

/**
 * The flags the run records, from the table's rows: `always` ones as given, `given` ones only when set
 * (flags recorded by earlier versions, and the legacy state file, lack them); `decided` ones are the
 * CLI's to set later (cli/pin-policy.ts).
 */
export function flagsFrom(values: Partial<Record<string, string | boolean | undefined>>): RedeployFlags {
  const flags: Record<string, unknown> = {};
  for (const flag of STATE_FLAGS) {
    const row = rowOf(flag);
    const value = values[row.name];
    if (row.recorded === 'always') flags[flag] = value === true;
    else if (row.recorded === 'given' && value) flags[flag] = value;
  }
  // Validated above, so this never throws; it types the record from the schema, not from a cast.
  return flagsSchema.parse(flags);
}

/** Parses the whole command line. Pure apart from reading nothing: no file, no network. */
export function parseCommand(argv: string[]): Command {
  const first = argv[0];
  if (first && (OPERATOR_COMMANDS as readonly string[]).includes(first)) {
    return parseOperator(first as (typeof OPERATOR_COMMANDS)[number], argv.slice(1));
  }
  const { values, positionals } = parseOnce(argv, RUN_OPTIONS);
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const problems: string[] = [];
  if (positionals.length) {
    problems.push(
      `unknown command or argument "${positionals[0]}" (commands: ${OPERATOR_COMMANDS.join(', ')})`,
    );
  }
  const versions = versionsOf(values, problems);
  problems.push(...valueProblems(values), ...comboProblems(values));
  if (problems.length) throw new UsageError(problems);
  const flags = flagsFrom(values);
  const { ref, 'pin-policy': pinPolicy } = values;
  const ticket = values['worktree-ticket'];
  const out = { json: values.json, detach: values.detach, target: values.target };
  if (values.resume !== undefined) {
    return {
      kind: 'resume',
      runId: values.resume,
      versions,
      flags,
      worktreeTicket: ticket,
      ref,
      pinPolicy,
      ...out,
    };
  }
  return {
    kind: 'run',
    req: { versions: versions ?? {}, flags, worktreeTicket: ticket, ...(ref ? { ref } : {}) },
    dryRun: values['dry-run'],
    autoVersions: values.versions === 'auto',
    pinPolicy,
    requireProven: values['require-proven'],
    ...out,
  };
}
