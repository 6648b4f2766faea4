// The TTY view's column fitting, apart from cli/terminal-text.ts so that the dry run does not load string-width
import stringWidth from 'string-width';

const graphemes = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The longest head of a terminal-safe line that fits in `columns` columns. Columns, not UTF-16 units: CJK
 * and most emoji take two, a combining mark none, and a line that wraps breaks the TTY view's redraw.
 * string-width holds the Unicode tables (East Asian Width, emoji); cutting whole graphemes never splits a pair.
 */
export function fitColumns(text: string, columns: number): string {
  if (stringWidth(text) <= columns) return text;
  let out = '';
  let used = 0;
  for (const { segment } of graphemes.segment(text)) {
    used += stringWidth(segment);
    if (used > columns) break;
    out += segment;
  }
  return out;
}
