import { parseArgs } from 'node:util';
import { parseVersions, type Versions } from '../core/versions.js';
import { ticketProblems } from '../core/ticket.js';
import type { RedeployFlags } from '../core/state.js';

export class UsageError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'UsageError';
  }
}

export interface RunRequest {
  versions: Versions;
  flags: RedeployFlags;
  worktreeTicket: string | undefined;
}

/** Parses the seed's run flags. Every problem is collected; nothing is started on a bad input. */
export function parseRunArgs(argv: string[]): RunRequest {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        versions: { type: 'string' },
        'skip-sync': { type: 'boolean', default: false },
        'skip-dockerfile-update': { type: 'boolean', default: false },
        'skip-infisical': { type: 'boolean', default: false },
        'worktree-ticket': { type: 'string' },
        'verify-only': { type: 'boolean', default: false },
      },
    }));
  } catch (err) {
    throw new UsageError([(err as Error).message]);
  }
  const problems: string[] = [];
  let versions: Versions = {};
  if (values.versions === undefined) {
    problems.push('--versions is required, e.g. --versions "omninode-claude=0.4.0,omniintelligence=0.8.0"');
  } else {
    const parsed = parseVersions(values.versions);
    if (parsed.ok) versions = parsed.value;
    else problems.push(...parsed.errors);
  }
  const ticket = values['worktree-ticket'];
  if (ticket !== undefined) {
    for (const p of ticketProblems(ticket)) problems.push(`--worktree-ticket "${ticket}" ${p}`);
  }
  if (problems.length > 0) throw new UsageError(problems);
  return {
    versions,
    worktreeTicket: ticket,
    flags: {
      skipSync: values['skip-sync'],
      skipDockerfileUpdate: values['skip-dockerfile-update'],
      skipInfisical: values['skip-infisical'],
      verifyOnly: values['verify-only'],
    },
  };
}
