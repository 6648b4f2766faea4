/**
 * The run's options, one row each: `parseArgs` (cli/args.ts), the `--help` text (cli/usage.ts), the
 * flags a run records (core/schemas.ts `flagsSchema`, whose keys must be STATE_FLAGS), the run's metadata
 * (cli/commands/metadata.ts), the command that resumes a run (core/state.ts) and what `--resume` keeps
 * (cli/commands/resume.ts) all read these rows. No imports: `--help` loads this file and nothing else.
 */

/** The flags a run records in its state (`RedeployFlags`), in the order they are written and shown. */
export const STATE_FLAGS = [
  'skipSync',
  'skipDockerfileUpdate',
  'skipInfisical',
  'verifyOnly',
  'noWait',
  'rollbackOnFailure',
  'lane',
  'pinPolicy',
] as const;
export type StateFlag = (typeof STATE_FLAGS)[number];

export interface RunOptionRow {
  /** The option as typed, without `--`. */
  readonly name: string;
  readonly type: 'boolean' | 'string';
  readonly short?: string;
  /** `--help`: the value's placeholder (`LIST`, `NAME`), for an option that takes one. */
  readonly arg?: string;
  /** `--help`: what it does; every further element is a continuation line. */
  readonly help: readonly string[];
  /** The RedeployFlags field it sets. */
  readonly flag?: StateFlag;
  /**
   * When the flag is recorded: `always` (the seed's four: every state file has them), `given` (only when
   * set, so flags recorded by earlier versions compare equal), `decided` (the CLI decides the value,
   * from the option and more — `--pin-policy` by lane, cli/pin-policy.ts).
   */
  readonly recorded?: 'always' | 'given' | 'decided';
  /** Spelled out in the `--resume` command a failed run prints (resume takes its skips from the command line). */
  readonly resumeSpells?: boolean;
  /** `--resume` keeps the resumed run's value unless this invocation gives one (like its target). */
  readonly keptOnResume?: boolean;
}

/** The run options in `--help` order. */
export const RUN_OPTION_ROWS = [
  {
    name: 'versions',
    type: 'string',
    arg: 'LIST',
    help: [
      'packages and versions to deploy, e.g. "omninode-claude=0.4.0,omniintelligence=0.8.0",',
      'or "auto": each plugin\'s latest v* tag in its repo under OMNI_HOME',
    ],
  },
  {
    name: 'skip-sync',
    type: 'boolean',
    help: ['skip SYNC (pull-all.sh)'],
    flag: 'skipSync',
    recorded: 'always',
    resumeSpells: true,
  },
  {
    name: 'skip-dockerfile-update',
    type: 'boolean',
    help: ['skip PIN_UPDATE'],
    flag: 'skipDockerfileUpdate',
    recorded: 'always',
    resumeSpells: true,
  },
  {
    name: 'skip-infisical',
    type: 'boolean',
    help: ['skip INFISICAL'],
    flag: 'skipInfisical',
    recorded: 'always',
    resumeSpells: true,
  },
  {
    name: 'worktree-ticket',
    type: 'string',
    arg: 'NAME',
    help: ['worktree and branch name (default: the run id)'],
  },
  {
    name: 'ref',
    type: 'string',
    arg: 'BRANCH',
    help: [
      'origin branch to deploy (default: REDEPLOY_WORKTREE_REF, else main);',
      "--resume keeps the run's ref",
    ],
  },
  {
    name: 'lane',
    type: 'string',
    arg: 'NAME',
    help: ['omnibase_infra lane to deploy and verify (default: ONEX_DEPLOY_LANE, else dev)'],
    flag: 'lane',
    recorded: 'given',
    keptOnResume: true,
  },
  {
    name: 'target',
    type: 'string',
    arg: 'HOST',
    help: [
      'runtime host to deploy on: the run goes to the worker started with',
      '`redeploy worker --target HOST` (default: the REDEPLOY_TASK_QUEUE worker)',
    ],
  },
  {
    name: 'require-proven',
    type: 'string',
    arg: 'LANE',
    help: [
      'refuse unless a completed run on LANE deployed the same origin/main commit',
      'and verified the same versions (env REDEPLOY_REQUIRE_PROVEN: promoted lanes)',
    ],
  },
  {
    name: 'pin-policy',
    type: 'string',
    arg: 'edit|admit',
    help: [
      "edit: write ==version in the worktree; admit: origin's specifier must admit",
      'each version, nothing is edited (default: admit on prod and lanes whose',
      'deploy script guards promoted lineage, else edit; env REDEPLOY_PIN_POLICY)',
    ],
    flag: 'pinPolicy',
    recorded: 'decided',
    keptOnResume: true,
  },
  {
    name: 'verify-only',
    type: 'boolean',
    help: ['run VERIFY only'],
    flag: 'verifyOnly',
    recorded: 'always',
    resumeSpells: true,
  },
  {
    name: 'no-wait',
    type: 'boolean',
    help: ['refuse at once, naming it, when another run holds the target (default: wait for it)'],
    flag: 'noWait',
    recorded: 'given',
    // Not spelled out on resume: whether to queue behind another run is the resuming operator's choice.
  },
  {
    name: 'rollback-on-failure',
    type: 'boolean',
    help: ['when VERIFY fails after DEPLOY: restore the previous pins, redeploy and verify them'],
    flag: 'rollbackOnFailure',
    recorded: 'given',
    resumeSpells: true,
  },
  {
    name: 'dry-run',
    type: 'boolean',
    help: ['print the commands each phase would run and the pin diff; start nothing'],
  },
  {
    name: 'resume',
    type: 'string',
    arg: 'RUN_ID',
    help: ['continue a run: retry its failed phase, or start it again after its completed phases'],
  },
  {
    name: 'detach',
    type: 'boolean',
    help: ['start (or decide) and return; follow later with `redeploy watch`'],
  },
  { name: 'json', type: 'boolean', help: ['one JSON object per event'] },
  { name: 'help', type: 'boolean', short: 'h', help: ['this help'] },
  { name: 'version', type: 'boolean', help: ['print the version'] },
] as const satisfies readonly RunOptionRow[];

export type RunOptionName = (typeof RUN_OPTION_ROWS)[number]['name'];

type Row = (typeof RUN_OPTION_ROWS)[number];
type ParseArgsOption<R extends Row> = R['type'] extends 'boolean'
  ? { type: 'boolean'; default: false } & (R extends { short: infer S } ? { short: S } : unknown)
  : { type: 'string' };
/** The rows as node's parseArgs options (a boolean defaults to false). */
export type RunParseOptions = { [R in Row as R['name']]: ParseArgsOption<R> };

export const RUN_OPTIONS = Object.fromEntries(
  RUN_OPTION_ROWS.map((r) => [
    r.name,
    r.type === 'boolean'
      ? { type: 'boolean', default: false, ...('short' in r ? { short: r.short } : {}) }
      : { type: 'string' },
  ]),
) as RunParseOptions;

/** The row that sets a state flag. */
export function rowOf(flag: StateFlag): RunOptionRow {
  return RUN_OPTION_ROWS.find((r) => 'flag' in r && r.flag === flag) as RunOptionRow;
}

/** Column where `--help` starts an option's description. */
const HELP_COLUMN = 29;

/** The `--help` lines of the run options, two columns, continuation lines indented to the second. */
export function runOptionsHelp(): string[] {
  return RUN_OPTION_ROWS.flatMap((r: RunOptionRow) => {
    const left = `  ${r.short ? `-${r.short}, ` : ''}--${r.name}${r.arg ? ` ${r.arg}` : ''}`;
    const [first, ...rest] = r.help;
    return [`${left.padEnd(HELP_COLUMN - 1)} ${first}`, ...rest.map((l) => `${' '.repeat(HELP_COLUMN)}${l}`)];
  });
}

/** A run's boolean flags as typed (`--skip-sync` …), in STATE_FLAGS order; `only` picks rows. */
export function typedFlags(
  flags: Partial<Record<StateFlag, unknown>>,
  only: (row: RunOptionRow) => boolean = () => true,
): string[] {
  return STATE_FLAGS.map(rowOf)
    .filter((r) => r.type === 'boolean' && only(r) && r.flag && flags[r.flag] === true)
    .map((r) => `--${r.name}`);
}
