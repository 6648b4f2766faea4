import { normalizeName, type Versions } from './versions.js';

/**
 * Rewrites requested pins in a Dockerfile's `RUN … pip install …` requirement lists. Pure text in,
 * text + report out, so the activity, the dry-run diff and the tests share one implementation.
 *
 * Recognised forms (CONTRACTS.md): quoted or bare, exact (`==`) or range specifiers, one or many per
 * line, inside backslash continuations. Comment lines and anything outside a pip install are left alone.
 */

export interface PinChange {
  /** The specifier found: the version for `==X`, else the whole specifier (`>=0.3.0,<0.5.0`), or `unpinned`. */
  from: string;
  to: string;
  matched: boolean;
}
export type PinReport = Record<string, PinChange>;

export interface PinRewrite {
  text: string;
  report: PinReport;
  /** Packages requested but not found: the run must not go on with them (it would deploy the wrong thing). */
  unmatched: string[];
  changed: boolean;
}

const REQUIREMENT_RE =
  /^([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)(\[[^\]]*\])?((?:===|==|!=|~=|>=|<=|>|<).*)?$/;
/** pip/uv options that consume the next token, so that token is not mistaken for a requirement. */
const OPTIONS_WITH_VALUE = new Set([
  '-r',
  '--requirement',
  '-c',
  '--constraint',
  '-e',
  '--editable',
  '-i',
  '--index-url',
  '--extra-index-url',
  '-f',
  '--find-links',
  '-p',
  '--python',
  '--target',
  '--prefix',
  '-t',
]);
const COMMAND_SEPARATORS = new Set(['&&', '||', ';', '|']);

interface FoundPin {
  line: number;
  start: number;
  end: number;
  quote: string;
  name: string;
  extras: string;
  specifier: string;
}

/** Every requirement token inside a `RUN … pip install …` instruction, with its position. */
export function findPins(text: string): FoundPin[] {
  const lines = text.split('\n');
  const found: FoundPin[] = [];
  let inRun = false;
  let inInstall = false;
  let skipNext = false;
  lines.forEach((rawLine, index) => {
    const line = rawLine.replace(/\r$/, '');
    const trimmed = line.trim();
    if (trimmed.startsWith('#')) return; // Docker keeps continuations across comment lines
    if (!inRun) {
      if (!/^RUN\b/i.test(trimmed)) return;
      inRun = true;
      inInstall = false;
      skipNext = false;
    }
    const continues = /\\\s*$/.test(line);
    const body = continues ? line.replace(/\\\s*$/, '') : line;
    let previous = '';
    for (const match of body.matchAll(/\S+/g)) {
      const token = match[0];
      const start = match.index;
      if (COMMAND_SEPARATORS.has(token) || token.endsWith(';')) {
        inInstall = false;
      } else if (!inInstall) {
        if (token === 'install' && previous === 'pip') inInstall = true;
      } else if (skipNext) {
        skipNext = false;
      } else if (token.startsWith('-')) {
        skipNext = OPTIONS_WITH_VALUE.has(token);
      } else {
        const quote = token[0] === '"' || token[0] === "'" ? token[0] : '';
        const inner = quote && token.endsWith(quote) && token.length > 1 ? token.slice(1, -1) : token;
        const parsed = REQUIREMENT_RE.exec(inner);
        if (parsed && !inner.includes('/') && !inner.includes('$')) {
          found.push({
            line: index,
            start,
            end: start + token.length,
            quote: inner === token ? '' : quote,
            name: parsed[1] ?? '',
            extras: parsed[2] ?? '',
            specifier: parsed[3] ?? '',
          });
        }
      }
      previous = token;
    }
    if (!continues) inRun = false;
  });
  return found;
}

function describeSpecifier(specifier: string): string {
  if (specifier === '') return 'unpinned';
  const exact = /^==([^,;]+)$/.exec(specifier);
  return exact?.[1] ?? specifier;
}

/** The specifier currently pinned for each requested package (for summaries and dry-run). */
export function currentPins(text: string, requested: string[]): Record<string, string> {
  const pins = findPins(text);
  const out: Record<string, string> = {};
  for (const name of requested) {
    const hit = pins.find((p) => normalizeName(p.name) === normalizeName(name));
    if (hit) out[name] = describeSpecifier(hit.specifier);
  }
  return out;
}

/**
 * The pin a package had before this run changed it: WORKTREE's `pins_found` first (a PIN_UPDATE
 * re-attempt after a crash reads its own edit as `from`), else PIN_UPDATE's `from`; undefined when neither
 * differs from what was requested.
 */
export function previousPin(
  found: string | undefined,
  from: string | undefined,
  to: string,
): string | undefined {
  return [found, from].find((f): f is string => typeof f === 'string' && f !== '' && f !== to);
}

/** The specifier text for a PinChange `from` (the inverse of describeSpecifier): for a rollback. */
export function specifierOf(from: string): string {
  if (from === 'unpinned') return '';
  return /^[0-9]/.test(from) ? `==${from}` : from;
}

/**
 * Sets each requested package to `==version`; with `restore`, the values are PinChange `from`s (an exact
 * version, a range such as `>=0.3.0,<0.5.0`, or `unpinned`) written back as they were.
 */
export function rewritePins(text: string, versions: Versions, opts: { restore?: boolean } = {}): PinRewrite {
  const pins = findPins(text);
  const lines = text.split('\n');
  const report: PinReport = {};
  const unmatched: string[] = [];
  // Edits applied right to left so earlier offsets on the same line stay valid.
  const edits: { line: number; start: number; end: number; replacement: string }[] = [];
  for (const [name, version] of Object.entries(versions)) {
    const hits = pins.filter((p) => normalizeName(p.name) === normalizeName(name));
    const first = hits[0];
    if (!first) {
      report[name] = { from: '', to: version, matched: false };
      unmatched.push(name);
      continue;
    }
    report[name] = { from: describeSpecifier(first.specifier), to: version, matched: true };
    for (const hit of hits) {
      edits.push({
        line: hit.line,
        start: hit.start,
        end: hit.end,
        replacement: `${hit.quote}${hit.name}${hit.extras}${opts.restore ? specifierOf(version) : `==${version}`}${hit.quote}`,
      });
    }
  }
  edits.sort((a, b) => b.line - a.line || b.start - a.start);
  for (const edit of edits) {
    const line = lines[edit.line] ?? '';
    lines[edit.line] = line.slice(0, edit.start) + edit.replacement + line.slice(edit.end);
  }
  const out = lines.join('\n');
  return { text: out, report, unmatched, changed: out !== text };
}

/** A minimal unified diff of two texts (line based), for the dry-run and the PIN_UPDATE log. */
export function unifiedDiff(before: string, after: string, label: string, context = 2): string {
  const a = before.split('\n');
  const b = after.split('\n');
  if (a.length !== b.length) {
    // Pin rewrites never add or remove lines; a whole-file diff is the honest fallback.
    return [`--- a/${label}`, `+++ b/${label}`, ...a.map((l) => `-${l}`), ...b.map((l) => `+${l}`)].join(
      '\n',
    );
  }
  const changed = a.map((line, i) => line !== b[i]);
  const out: string[] = [];
  let i = 0;
  while (i < a.length) {
    if (!changed[i]) {
      i++;
      continue;
    }
    const start = Math.max(0, i - context);
    let end = i;
    // Merge changes closer than 2*context lines into one hunk.
    while (end < a.length && (changed[end] || changed.slice(end, end + 2 * context + 1).some(Boolean))) end++;
    const stop = Math.min(a.length, end + context);
    const hunk: string[] = [];
    for (let j = start; j < stop; j++) {
      if (changed[j]) hunk.push(`-${a[j]}`, `+${b[j]}`);
      else hunk.push(` ${a[j]}`);
    }
    out.push(`@@ -${start + 1},${stop - start} +${start + 1},${stop - start} @@`, ...hunk);
    i = stop;
  }
  return out.length === 0 ? '' : [`--- a/${label}`, `+++ b/${label}`, ...out].join('\n');
}
