import { z } from 'zod';
import { CliError, EXIT_USAGE } from './errors.js';
import { parseSpecifierSet } from './pep440.js';
import { PIN_POLICIES } from './pin-policy.js';
import { PHASE, PHASES } from './phases.js';
import {
  flagsSchema,
  formatIssues,
  legacyStateSchema,
  phaseSchema,
  provenanceSchema,
  provenSchema,
  type LegacyState,
} from './schemas.js';
import type { RedeployState } from './state.js';
import { isValidPackageName, isValidVersion, normalizeName, sameVersion } from './versions.js';
import { TARGET_RE } from './task-queue.js';

/**
 * Saved state read back — a state file, a progress query's answer, a closed run's result — is parsed
 * here, never cast: its shape is checked and older shapes are upgraded (parseState, parseRunState).
 * Where a saved state seeds a new run (`--resume`), the **steering fields** it carries (WORKTREE's pins
 * found, PIN_UPDATE's pins applied, the target) are validated field by field too (checkCarried).
 * Anything else is refused naming the field, never its value.
 */

/** A state that cannot be used: the source and the fields at fault, never the values (exit 2). */
export class RunStateError extends CliError {
  constructor(
    readonly source: string,
    readonly problems: string[],
  ) {
    super(
      `${source} is not a valid redeploy state:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      EXIT_USAGE,
    );
  }
}

const packageName = z.string().refine(isValidPackageName, 'not a PEP 508 package name');
/**
 * A specifier's bytes as a rollback writes them back into the Dockerfile: empty (unpinned) or a PEP 440
 * specifier set — nothing that could end the requirement and start a shell command.
 */
const specifierBytes = z
  .string()
  .max(200)
  .refine((s) => !/[\n\r'"\\;&|`$]/.test(s) && parseSpecifierSet(s).ok, 'not a PEP 440 specifier');
/** For display only (`0.4.0`, `>=0.3,<0.5`, `unpinned`): one short line. */
const displayText = z
  .string()
  .max(200)
  // No line break or control character: it is printed to a terminal.
  .refine(
    (s) => ![...s].some((c) => c.charCodeAt(0) < 0x20 || c.charCodeAt(0) === 0x7f),
    'not one line of text',
  );

const pinChangeSchema = z.looseObject({
  from: displayText,
  from_raw: specifierBytes.optional(),
  from_raw_hits: z.array(specifierBytes).max(50).optional(),
  to: z.string().refine(isValidVersion, 'not a PEP 440 version'),
  matched: z.boolean(),
  action: z.enum(['edited', 'admitted', 'refused']).optional(),
});

/** Per phase, the fields the workflow reads back from a carried record (core/run.ts rollbackPlan, phase-calls). */
const STEERING: Partial<Record<(typeof PHASES)[number], z.ZodType>> = {
  WORKTREE: z.looseObject({
    pins_found: z.record(packageName, displayText).optional(),
    pins_found_raw: z.record(packageName, specifierBytes).optional(),
    pins_found_raw_hits: z.record(packageName, z.array(specifierBytes).max(50)).optional(),
  }),
  PIN_UPDATE: z.looseObject({
    pins_applied: z.record(packageName, pinChangeSchema).optional(),
    policy: z.enum(PIN_POLICIES).optional(),
  }),
};

const versionsMap = z.record(packageName, z.string().refine(isValidVersion, 'not a PEP 440 version'));

/** The additive fields a later version wrote, each optional (the old skill's file has none of them). */
const additiveSchema = z.looseObject({
  flags: flagsSchema.optional(),
  target: z.string().max(253).nullable().optional(),
  provenance: provenanceSchema.optional(),
  proven: provenSchema.optional(),
  pins_applied: versionsMap.optional(),
  versions_requested: versionsMap,
});

/** A run's state as the workflow serves it: the fields the CLI decides on, checked; the rest passes. */
const runStateSchema = z.looseObject({
  status: z.enum([
    'running',
    'waiting_for_target',
    'waiting_for_decision',
    'completed',
    'failed',
    'aborted',
    'cancelled',
    'rolled_back',
  ]),
  current_phase: phaseSchema.nullable(),
  version: z.number().int().nonnegative(),
  flags: flagsSchema,
  decisions: z.array(z.unknown()),
  pending_decision: z.looseObject({ phase: phaseSchema, error: z.string(), since: z.string() }).nullable(),
});

export type ParsedState = LegacyState & z.infer<typeof additiveSchema>;

/** Older shapes, upgraded in place before validation (a copy: the input is not changed). */
function upgrade(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const state = { ...(raw as Record<string, unknown>) };
  // A run state written before the target was recorded: null is "the default task queue".
  if (state['flags'] !== undefined && !('target' in state)) state['target'] = null;
  // A phase added later (its row has `since`) is absent from older states: it never ran there. Filled
  // in, so every reader may look up every phase.
  const phases = state['phases'];
  if (typeof phases === 'object' && phases !== null) {
    const filled = { ...(phases as Record<string, unknown>) };
    for (const p of PHASES)
      if (PHASE[p].since !== undefined && !(p in filled)) filled[p] = { status: 'pending' };
    state['phases'] = filled;
  }
  return state;
}

function issues(result: { success: boolean; error?: z.ZodError }, prefix = ''): string[] {
  return result.success || !result.error ? [] : formatIssues(result.error, prefix);
}

/** The problems of a state's shape and its additive fields, as `path: message` lines. */
function stateProblems(raw: unknown): string[] {
  const legacy = legacyStateSchema.safeParse(raw);
  if (!legacy.success) return formatIssues(legacy.error);
  return issues(additiveSchema.safeParse(raw));
}

/**
 * The steering fields of a state that seeds a new run: their format per phase, and that they belong to
 * this run — pins applied only for requested packages, to the requested versions (a rollback rewrites
 * exactly those), and a target that is a host name (it picks the task queue).
 */
function carriedProblems(state: ParsedState): string[] {
  const problems: string[] = [];
  for (const [phase, schema] of Object.entries(STEERING)) {
    const record: unknown = state.phases[phase as keyof typeof state.phases];
    if (record !== undefined) problems.push(...issues(schema.safeParse(record), `phases.${phase}.`));
  }
  if (problems.length) return problems;
  const requested = new Map(Object.entries(state.versions_requested).map(([k, v]) => [normalizeName(k), v]));
  const applied = (state.phases.PIN_UPDATE as { pins_applied?: Record<string, { to: string }> } | undefined)
    ?.pins_applied;
  for (const [pkg, change] of Object.entries(applied ?? {})) {
    const want = requested.get(normalizeName(pkg));
    if (want === undefined) problems.push(`phases.PIN_UPDATE.pins_applied.${pkg}: not a requested package`);
    else if (!sameVersion(change.to, want))
      problems.push(`phases.PIN_UPDATE.pins_applied.${pkg}.to: not the requested version`);
  }
  if (typeof state.target === 'string' && !TARGET_RE.test(state.target))
    problems.push('target: not a host name');
  return problems;
}

/** A state about to seed a new run (`--resume`): its steering fields checked; RunStateError otherwise. */
export function checkCarried<S extends ParsedState>(state: S, source: string): S {
  const problems = carriedProblems(state);
  if (problems.length) throw new RunStateError(source, problems);
  return state;
}

/** A saved state (a state file, the old skill's too): upgraded and validated; RunStateError otherwise. */
export function parseState(raw: unknown, source: string): ParsedState {
  const upgraded = upgrade(raw);
  const problems = stateProblems(upgraded);
  if (problems.length) throw new RunStateError(source, problems);
  return upgraded as ParsedState;
}

/** A run's state from the workflow (a query, a closed run's result): parseState plus the run's own fields. */
export function parseRunState(raw: unknown, source: string): RedeployState {
  const state = parseState(raw, source);
  const run = runStateSchema.safeParse(state);
  if (!run.success) throw new RunStateError(source, formatIssues(run.error));
  // Every field the CLI acts on is checked above; the rest is shown, never acted on.
  return state as unknown as RedeployState;
}

/** parseRunState, or undefined when the value is not a valid run state (a failure's details, say). */
export function runStateOrUndefined(raw: unknown): RedeployState | undefined {
  try {
    return parseRunState(raw, 'state');
  } catch (err) {
    if (err instanceof RunStateError) return undefined;
    throw err;
  }
}
