// No imports: every line the CLI prints passes terminalSafe, and string-width's Unicode tables cost ~20–40 ms
// to load (issue 23): fitColumns, which needs them, is in cli/fit-columns.ts (loaded only for a TTY's live view).

/**
 * Text bound for the operator's terminal that may carry a script's output (tails of command output in
 * errors, the phase's latest line, VERIFY's `docker exec` output, a lock holder's name): a script must not
 * be able to retitle, clear or move the cursor of that terminal, nor hide a line behind `\r`.
 */

/* eslint-disable no-control-regex -- escape sequences and control characters are what this removes */
// 7-bit escape sequences: CSI (`ESC [ … final`), OSC (`ESC ] …` up to BEL or ST, or the line's end),
// DCS/SOS/PM/APC (`ESC P|X|^|_ …` up to ST), and the two- or three-byte rest (`ESC c`, `ESC ( B`, `ESC 7`).
const ESCAPES =
  /\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b\n]*(?:\x07|\x1b\\)?|\x1b[PX^_][^\x1b\n]*(?:\x1b\\)?|\x1b[ -/]*[0-~]?/g;
// C0 controls but tab and newline (so `\r`, backspace, bell and a lone ESC go too), and DEL.
const C0 = /[\x00-\x08\x0b-\x1f\x7f]/g;
/** C1 controls (U+0080–U+009F: CSI, OSC … in 8-bit form) and bidi overrides, which reorder what is shown. */
const VISIBLE_ESCAPE = /[\u0080-\u009f\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

/**
 * Strips escape sequences and control characters; C1 controls and bidi overrides are shown as `\uXXXX`
 * (so a JSON line stays valid JSON with the same data). Tab and newline stay; our own colouring is added
 * after this, never passed through it.
 */
export function terminalSafe(text: string): string {
  return text
    .replace(ESCAPES, '')
    .replace(C0, '')
    .replace(VISIBLE_ESCAPE, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** One line of it: tab and newline become spaces (a wrapped line would break the TTY view's redraw). */
export function terminalLine(text: string): string {
  return terminalSafe(text).replace(/[\t\n]/g, ' ');
}
