import { LANE_RE } from './lanes.js';
import { z } from 'zod';
import { PHASE, PHASES, PHASE_STATUSES, type Phase } from './phases.js';
import { isValidPackageName, isValidVersion } from './versions.js';
import { ticketProblems } from './ticket.js';
import { refProblems } from './ref.js';
import type { StateFlag } from './flags.js';
import { PIN_POLICIES } from './pin-policy.js';

/** zod schemas for what crosses a boundary: workflow input, decisions, the legacy state file. */

const versionsSchema = z
  .record(z.string(), z.string())
  .refine((v) => Object.keys(v).length > 0, 'at least one package is required')
  .refine((v) => Object.keys(v).every(isValidPackageName), 'package names must be PEP 508 names')
  .refine((v) => Object.values(v).every(isValidVersion), 'versions must be PEP 440 versions');

export const phaseSchema = z.enum(PHASES);
export const phaseStatusSchema = z.enum(PHASE_STATUSES);

export const phaseRecordSchema = z.looseObject({
  status: phaseStatusSchema,
  ts: z.string().optional(),
});

/**
 * The flags a run records. Its keys are the flags table's STATE_FLAGS (core/flags.ts; `satisfies` makes
 * the compiler flag a row without a schema or a schema without a row); `RedeployFlags` is its type.
 */
export const flagsSchema = z.object({
  skipSync: z.boolean(),
  skipDockerfileUpdate: z.boolean(),
  skipInfisical: z.boolean(),
  verifyOnly: z.boolean(),
  noWait: z.boolean().optional(),
  rollbackOnFailure: z.boolean().optional(),
  lane: z.string().regex(LANE_RE).optional(),
  pinPolicy: z.enum(PIN_POLICIES).optional(),
} satisfies Record<StateFlag, z.ZodType>);

const sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full commit SHA');
export const provenanceSchema = z.object({
  ref: z.string(),
  base_commit: sha.nullable(),
  origin_url: z.string().nullable(),
  dockerfile_sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .nullable(),
  deploy_script: z.string().nullable(),
  deployed_commit: sha.nullable(),
  image_revision: z.string().max(200).nullable().optional(),
  proven_by: z.string().max(200).nullable().optional(),
});

/** --require-proven's record: the proving run and the commit it proved (state `proven`, input `proven`). */
export const provenSchema = z.object({
  lane: z.string().regex(LANE_RE),
  run_id: z.string().min(1).max(200),
  commit: sha,
});

export const RUN_ID_RE = /^redeploy-\d{8}-[0-9a-f]{6}$/;

export const inputSchema = z.object({
  runId: z.string().min(1).max(200),
  worktreeTicket: z.string().superRefine((t, ctx) => {
    for (const p of ticketProblems(t)) ctx.addIssue({ code: 'custom', message: `worktree ticket ${p}` });
  }),
  versions: versionsSchema,
  flags: flagsSchema,
  startedBy: z.string().min(1),
  target: z.string().optional(),
  ref: z
    .string()
    .superRefine((r, ctx) => {
      for (const p of refProblems(r)) ctx.addIssue({ code: 'custom', message: `worktree ref ${p}` });
    })
    .optional(),
  resumeFrom: z
    .object({
      phases: z.partialRecord(phaseSchema, phaseRecordSchema),
      worktreePath: z.string().nullable(),
      startedAt: z.string().optional(),
      provenance: provenanceSchema.optional(),
    })
    .optional(),
  decisionTimeoutMs: z.number().int().positive().optional(),
  lockId: z.string().min(1).max(400).optional(),
  targetWaitTimeoutMs: z.number().int().positive().optional(),
  // A directory name under the skill results dir: a plain segment, as io/skill-result.ts requires.
  skillContext: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/)
    .optional(),
  proven: provenSchema.optional(),
});

/**
 * A state file's `phases`: a record per row. A row added after release (`since`) is optional, so the
 * state files of older versions still parse; its entry is typed optional for every row, so a reader
 * cannot forget that.
 */
export function statePhasesSchema(rows: { [P in Phase]: { since?: string } }) {
  const shape = Object.fromEntries(
    (Object.keys(rows) as Phase[]).map((p) => [
      p,
      rows[p].since === undefined ? phaseRecordSchema : phaseRecordSchema.optional(),
    ]),
  );
  return z.object(shape as Record<Phase, z.ZodOptional<typeof phaseRecordSchema>>);
}

/** The legacy state file exactly as the seed writes it; additive fields pass through. */
export const legacyStateSchema = z.looseObject({
  run_id: z.string(),
  worktree_ticket: z.string(),
  worktree_path: z.string().nullable(),
  worktree_ref: z.string(),
  versions_requested: z.record(z.string(), z.string()),
  started_at: z.string(),
  phases: statePhasesSchema(PHASE),
});
export type LegacyState = z.infer<typeof legacyStateSchema>;

/** Turn zod issues into `path: message` lines, as an operator reads them. */
export function formatIssues(error: z.ZodError, prefix = ''): string[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    return `${prefix}${path ? `${path}: ` : ''}${i.message}`;
  });
}
