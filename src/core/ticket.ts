/** Bytes per path component on Linux filesystems; git writes `<ticket>.lock` next to the branch ref. */
const MAX_TICKET_BYTES = 250;

/**
 * A worktree ticket becomes a branch name (`worktree add -b <ticket>`) and one directory under the
 * worktree root, so it must satisfy `git check-ref-format --branch` and be a single path segment.
 * Checked here, without git, so the CLI can refuse it before anything starts (exit 2).
 */
export function ticketProblems(ticket: string): string[] {
  const problems: string[] = [];
  if (ticket === '') return ['is empty'];
  // Bytes, not characters: "é" is two, and the filesystem and git count bytes.
  const bytes = new TextEncoder().encode(ticket).length;
  if (bytes > MAX_TICKET_BYTES)
    problems.push(
      `is ${bytes} bytes long (UTF-8); at most ${MAX_TICKET_BYTES} fit in a branch or directory name`,
    );
  if (ticket.includes('/') || ticket.includes('\\')) problems.push('contains a path separator (/ or \\)');
  if (ticket === '.' || ticket === '..' || ticket.includes('..')) problems.push('contains ".."');
  if (ticket.startsWith('-')) problems.push('starts with "-" (would be read as an option)');
  if (ticket.startsWith('.')) problems.push('starts with "."');
  if (ticket.endsWith('.')) problems.push('ends with "."');
  if (ticket.endsWith('.lock')) problems.push('ends with ".lock"');
  if (ticket === '@') problems.push('is "@"');
  if (ticket.includes('@{')) problems.push('contains "@{"');
  // git refuses HEAD; FETCH_HEAD, ORIG_HEAD … it takes, but `rev-parse` then reads its own file, not the
  // branch (case-insensitive: on a case-insensitive filesystem `head` is HEAD).
  if (/^(?:[A-Z]+_)*HEAD$/i.test(ticket)) problems.push(`is "${ticket}", a name git keeps for itself`);
  // eslint-disable-next-line no-control-regex -- control characters are exactly what git refuses in a ref
  if (/[\x00-\x20\x7f~^:?*[]/.test(ticket)) {
    problems.push('contains a space, control character or one of ~ ^ : ? * [');
  }
  return problems;
}
