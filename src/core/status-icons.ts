import type { PhaseStatus } from './phases.js';

/**
 * One glyph per phase status, for every view of the phase list. Pure (no Node built-ins): the Web UI's
 * details table is rendered in workflow code.
 */
export const STATUS_ICON: Record<PhaseStatus, string> = {
  pending: '·',
  running: '▶',
  completed: '✔',
  failed: '✖',
  skipped_by_flag: '⤼',
  skipped_no_infisical: '⤼',
  skipped_by_operator: '⤼',
  cancelled: '■',
  rolled_back: '↩',
};

/**
 * The live terminal view's glyphs. It draws a spinner for a running phase, and its skips have always been
 * `↷` (the Web UI's `⤼` differs): kept as shipped, since changing a glyph is not a refactor.
 */
export const TTY_STATUS_ICON: Record<PhaseStatus, string> = {
  ...STATUS_ICON,
  running: '',
  skipped_by_flag: '↷',
  skipped_no_infisical: '↷',
  skipped_by_operator: '↷',
};
