import type { RedeployInput } from '../../core/state.js';
import { formatVersions } from '../../core/versions.js';
import { typedFlags } from '../../core/flags.js';

/** Temporal's limit for a workflow's static summary, in bytes. */
const SUMMARY_MAX_BYTES = 200;

/** `s` cut to at most `max` UTF-8 bytes, on a character boundary, with `…` when cut. */
function clipBytes(s: string, max: number): string {
  if (Buffer.byteLength(s) <= max) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch + '…') > max) break;
    out += ch;
  }
  return `${out}…`;
}

/** An argv element as a person would type it in a POSIX shell. */
const shellWord = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

/**
 * The run's static summary and details, so the Web UI's runs list and run header say what a run
 * deploys, where, and who started it how. Public: the Web UI test checks what the CLI sets.
 */
export function runMetadata(
  input: RedeployInput,
  taskQueue: string,
  argv: string[] | undefined,
): { staticSummary: string; staticDetails: string } {
  const target = input.target ?? 'default target';
  const f = input.flags;
  const flags = typedFlags(f);
  const summary = `${f.verifyOnly ? 'verify' : 'redeploy'} ${formatVersions(input.versions)} on ${target} · by ${input.startedBy}`;
  const details = [
    ...(argv ? [`**Command:** \`redeploy ${argv.map(shellWord).join(' ')}\`  `] : []),
    `**Versions:** ${formatVersions(input.versions)}  `,
    `**Target:** ${target} (task queue \`${taskQueue}\`)  `,
    `**Started by:** ${input.startedBy}  `,
    `**Flags:** ${flags.length ? flags.map((x) => `\`${x}\``).join(' ') : 'none'}  `,
    `**Worktree ticket:** ${input.worktreeTicket}`,
  ];
  return { staticSummary: clipBytes(summary, SUMMARY_MAX_BYTES), staticDetails: details.join('\n') };
}
