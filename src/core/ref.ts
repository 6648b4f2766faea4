/**
 * The ref a worktree is based on (`--ref`, REDEPLOY_WORKTREE_REF, the state's `worktree_ref`): a branch
 * name of origin, checked here without git (as `git check-ref-format --branch` would) so a bad value is
 * refused before anything starts. Slashes are allowed (`release/1.2`); each part is checked.
 */
export const DEFAULT_WORKTREE_REF = 'main';

export function refProblems(ref: string): string[] {
  if (ref === '') return ['is empty'];
  const problems: string[] = [];
  if (new TextEncoder().encode(ref).length > 200) problems.push('is longer than 200 bytes');
  if (ref.startsWith('-')) problems.push('starts with "-" (would be read as an option)');
  if (ref.startsWith('/') || ref.endsWith('/') || ref.includes('//'))
    problems.push('has an empty path component');
  if (ref.includes('..')) problems.push('contains ".."');
  if (ref.split('/').some((part) => part.startsWith('.') || part.endsWith('.lock')))
    problems.push('has a component starting with "." or ending with ".lock"');
  if (ref.endsWith('.')) problems.push('ends with "."');
  if (ref === '@' || ref.includes('@{')) problems.push('is "@" or contains "@{"');
  if (ref === 'HEAD' || ref.startsWith('refs/')) problems.push('must be a branch name such as main or dev');
  // eslint-disable-next-line no-control-regex -- control characters are exactly what git refuses in a ref
  if (/[\x00-\x20\x7f~^:?*[\\]/.test(ref))
    problems.push('contains a space, control character or one of ~ ^ : ? * [ \\');
  return problems;
}
