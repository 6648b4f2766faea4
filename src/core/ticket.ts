/**
 * A worktree ticket becomes a branch name (`worktree add -b <ticket>`) and one directory under the
 * worktree root, so it must satisfy `git check-ref-format --branch` and be a single path segment.
 * Checked here, without git, so the CLI can refuse it before anything starts.
 */
export function ticketProblems(ticket: string): string[] {
  const problems: string[] = [];
  if (ticket === '') return ['is empty'];
  if (ticket.length > 200) problems.push('is longer than 200 characters');
  if (ticket.includes('/') || ticket.includes('\\')) problems.push('contains a path separator (/ or \\)');
  if (ticket === '.' || ticket === '..' || ticket.includes('..')) problems.push('contains ".."');
  if (ticket.startsWith('-')) problems.push('starts with "-" (would be read as an option)');
  if (ticket.startsWith('.')) problems.push('starts with "."');
  if (ticket.endsWith('.')) problems.push('ends with "."');
  if (ticket.endsWith('.lock')) problems.push('ends with ".lock"');
  if (ticket === '@') problems.push('is "@"');
  if (ticket.includes('@{')) problems.push('contains "@{"');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what git refuses in a ref
  if (/[\x00-\x20\x7f~^:?*[]/.test(ticket)) {
    problems.push('contains a space, control character or one of ~ ^ : ? * [');
  }
  return problems;
}
