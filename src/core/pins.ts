import { normalizeName, type Versions } from './versions.js';

/**
 * Rewrites requested pins in a Dockerfile's `RUN … pip install …` requirement lists. Pure text in,
 * text + report out, so the activity, the dry-run diff and the tests share one implementation.
 *
 * Recognised forms (CONTRACTS.md): quoted or bare, exact (`==`, `===`) or range specifiers, extras,
 * environment markers, one or many per line, inside backslash continuations. Only the specifier's bytes
 * are replaced (offsets into the whole text): quotes, extras, markers, CRLF and trailing text stay as they
 * were. Comment lines, shell comments (`# …` after a command) and anything outside a pip install are left alone.
 */

export interface PinChange {
  /** For display: the version for `==X`, else the whole specifier (`>=0.3.0,<0.5.0`, `===0.6.0`), or `unpinned`. */
  from: string;
  /** The specifier's bytes as found (`''` when unpinned): what a rollback writes back. Absent from old reports. */
  from_raw?: string;
  /** Every place's bytes, in file order (a package can be pinned in several RUN lines): restored place by place. */
  from_raw_hits?: string[];
  to: string;
  matched: boolean;
  /** The pin policy's verdict (core/pin-policy.ts): edited in the worktree, or admitted by origin's specifier. */
  action?: 'edited' | 'admitted' | 'refused';
}
export type PinReport = Record<string, PinChange>;

export interface PinRewrite {
  text: string;
  report: PinReport;
  /** Packages requested but not found: the run must not go on with them (it would deploy the wrong thing). */
  unmatched: string[];
  /** Packages that are there but cannot be rewritten safely, with why (a heredoc body, places that moved). */
  refused: Record<string, string>;
  changed: boolean;
}

const NAME_RE = /^\s*([A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?)\s*(\[[^\]]*\])?\s*/;
const OPERATOR_RE = /^(?:===|==|!=|~=|>=|<=|>|<)/;
/**
 * pip/uv options that consume the next token, so that token is not mistaken for a requirement — among
 * them those whose value is a package name (`--no-binary omninode-claude omninode-claude>=0.3`: the
 * first is the option's, the second the requirement).
 */
const OPTIONS_WITH_VALUE = new Set([
  '--no-binary',
  '--only-binary',
  '--upgrade-package',
  '-P',
  '--reinstall-package',
  '--no-build-isolation-package',
  '--no-build-package',
  '--no-binary-package',
  '--refresh-package',
  '--config-settings',
  '--config-setting',
  '-C',
  '--global-option',
  '--install-option',
  '--src',
  '--root',
  '--platform',
  '--python-version',
  '--python-platform',
  '--implementation',
  '--abi',
  '--upgrade-strategy',
  '--exists-action',
  '--trusted-host',
  '--cert',
  '--client-cert',
  '--cache-dir',
  '--log',
  '--proxy',
  '--retries',
  '--timeout',
  '--progress-bar',
  '--root-user-action',
  '--report',
  '--index-strategy',
  '--keyring-provider',
  '--resolution',
  '--prerelease',
  '--exclude-newer',
  '--link-mode',
  '--default-index',
  '--index',
  '--overrides',
  '--build-constraints',
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
/**
 * pip/uv options known to take no value. An option in neither list may take one: a bare name right after
 * it is taken as its value, so a requested package seen only there is "not found" (PIN_UPDATE fails)
 * rather than rewritten inside another option.
 */
const FLAGS_WITHOUT_VALUE = new Set([
  '-U',
  '--upgrade',
  '--no-cache-dir',
  '--no-cache',
  '--no-deps',
  '--system',
  '--user',
  '--pre',
  '-q',
  '--quiet',
  '-v',
  '--verbose',
  '--break-system-packages',
  '--force-reinstall',
  '--reinstall',
  '--ignore-installed',
  '-I',
  '--no-compile',
  '--compile',
  '--compile-bytecode',
  '--require-hashes',
  '--no-index',
  '--no-build-isolation',
  '--strict',
  '--dry-run',
  '--isolated',
  '--disable-pip-version-check',
  '--no-warn-script-location',
  '--no-warn-conflicts',
  '--prefer-binary',
  '--no-clean',
  '--use-pep517',
  '--no-use-pep517',
  '--check-build-dependencies',
  '--ignore-requires-python',
  '--no-input',
  '--refresh',
  '--offline',
  '--exact',
  '--no-python-downloads',
]);
/** Shell control operators: each ends the current command (and so the pip install's argument list). */
const OPERATOR_CHARS = new Set([';', '&', '|', '(', ')']);

interface FoundPin {
  name: string;
  extras: string;
  /** The specifier's bytes as found, `''` when unpinned. */
  specifier: string;
  /** Offsets of those bytes in the whole text (start === end when unpinned: where `==X` goes). */
  start: number;
  end: number;
}

interface ShellWord {
  /** The word after quote removal. */
  value: string;
  /** For each character of `value`, its offset in the whole text. */
  at: number[];
  /** An unquoted shell operator (`;`, `&&`, `|` …) rather than a word. */
  operator: boolean;
  /** Contains `$` or a backquote: its value is only known to the shell. */
  expands: boolean;
}

/** A heredoc body (`RUN <<EOF` … `EOF`, `COPY <<EOF /dst` …): its text and first line number. */
interface HeredocBody {
  text: string;
  line: number;
}

/** The heredoc words an instruction line opens, in order (`<<EOF`, `<<-"EOF"`, `<<'EOF'`). */
function heredocWords(line: string): { word: string; stripTabs: boolean }[] {
  const out: { word: string; stripTabs: boolean }[] = [];
  for (const m of line.matchAll(/<<(-?)\s*(["']?)([A-Za-z_][A-Za-z0-9_]*)\2/g))
    out.push({ word: m[3] ?? '', stripTabs: m[1] === '-' });
  return out;
}

/**
 * The logical lines of each RUN instruction, as Docker joins them: continuation backslashes dropped,
 * comment and empty lines inside a continuation removed (Docker does so). Each character keeps its offset.
 * Heredoc bodies (BuildKit's `RUN <<EOF`, `COPY <<EOF …`) are not instructions: they are set aside in
 * `heredocs` (a `RUN pip install …` line inside a COPY heredoc is file content, never a pin).
 */
function runInstructions(text: string, heredocs: HeredocBody[] = []): { chars: string; at: number[] }[] {
  const out: { chars: string; at: number[] }[] = [];
  let current: { chars: string; at: number[] } | undefined;
  let offset = 0;
  /** Terminators still to come, in order, and the body being read. */
  let pending: { word: string; stripTabs: boolean }[] = [];
  let body: HeredocBody | undefined;
  const physicalLines = text.split('\n');
  for (let n = 0; n < physicalLines.length; n++) {
    const physical = physicalLines[n] ?? '';
    const lineStart = offset;
    offset += physical.length + 1;
    const line = physical.endsWith('\r') ? physical.slice(0, -1) : physical;
    const trimmed = line.trim();
    if (pending.length > 0) {
      const end = pending[0];
      const candidate = end?.stripTabs ? line.replace(/^\t+/, '') : line;
      if (end && candidate === end.word) {
        if (body) heredocs.push(body);
        body = undefined;
        pending = pending.slice(1);
      } else {
        body = body ? { ...body, text: `${body.text}\n${line}` } : { text: line, line: n + 1 };
      }
      continue;
    }
    if (!current) {
      const opens = /^(RUN|COPY|ADD)\b/i.test(trimmed) ? heredocWords(line) : [];
      if (opens.length > 0) pending = opens;
      if (!/^RUN\b/i.test(trimmed)) continue;
      current = { chars: '', at: [] };
    } else if (trimmed === '' || trimmed.startsWith('#')) {
      continue;
    } else {
      const opens = heredocWords(line);
      if (opens.length > 0) pending = opens;
    }
    const continuation = /\\[ \t]*$/.exec(line);
    const lineBody = continuation ? line.slice(0, continuation.index) : line;
    for (let i = 0; i < lineBody.length; i++) {
      current.chars += lineBody[i];
      current.at.push(lineStart + i);
    }
    if (!continuation || pending.length > 0) {
      out.push(current);
      current = undefined;
    }
  }
  if (current) out.push(current);
  if (body) heredocs.push(body);
  return out;
}

/** Whether a heredoc body names the package (any spelling PEP 503 treats as the same name). */
function heredocNames(bodies: HeredocBody[], name: string): number | undefined {
  const pattern = normalizeName(name)
    .split('-')
    .map((part) => part.replace(/[^a-z0-9]/g, ''))
    .join('[-_.]+');
  const re = new RegExp(`(^|[^A-Za-z0-9._-])${pattern}($|[^A-Za-z0-9_-])`, 'im');
  return bodies.find((b) => re.test(b.text))?.line;
}

/** Splits a logical RUN line into shell words and operators (quotes, backslashes); stops at a `#` comment. */
function shellWords(line: { chars: string; at: number[] }): ShellWord[] {
  const { chars, at } = line;
  const words: ShellWord[] = [];
  let i = 0;
  while (i < chars.length) {
    const c = chars[i] ?? '';
    if (c === ' ' || c === '\t') {
      i++;
      continue;
    }
    // A word starting with `#` starts a comment that runs to the end of the (joined) instruction.
    if (c === '#') break;
    if (OPERATOR_CHARS.has(c)) {
      const two = chars.slice(i, i + 2);
      const op = two === '&&' || two === '||' || two === ';;' ? two : c;
      words.push({ value: op, at: [], operator: true, expands: false });
      i += op.length;
      continue;
    }
    const word: ShellWord = { value: '', at: [], operator: false, expands: false };
    const take = (j: number) => {
      word.value += chars[j];
      word.at.push(at[j] ?? -1);
    };
    while (i < chars.length) {
      const ch = chars[i] ?? '';
      if (ch === ' ' || ch === '\t' || OPERATOR_CHARS.has(ch)) break;
      if (ch === "'") {
        i++;
        while (i < chars.length && chars[i] !== "'") take(i++);
        i++;
      } else if (ch === '"') {
        i++;
        while (i < chars.length && chars[i] !== '"') {
          if (chars[i] === '\\' && '"\\$`'.includes(chars[i + 1] ?? 'x')) i++;
          else if (chars[i] === '$' || chars[i] === '`') word.expands = true;
          take(i++);
        }
        i++;
      } else if (ch === '\\') {
        i++;
        if (i < chars.length) take(i++);
      } else {
        if (ch === '$' || ch === '`') word.expands = true;
        take(i++);
      }
    }
    words.push(word);
  }
  return words;
}

/**
 * A PEP 508 requirement without URL: name, extras, the specifier (bare or in parentheses) and its
 * position in the word, then nothing but an optional `; marker`. Undefined for anything else.
 */
function parseRequirement(
  value: string,
): { name: string; extras: string; specifier: string; index: number } | undefined {
  const head = NAME_RE.exec(value);
  if (!head) return undefined;
  const name = head[1] ?? '';
  const extras = head[2] ?? '';
  let index = head[0].length;
  let rest = value.slice(index);
  let close = '';
  if (rest.startsWith('(')) {
    close = ')';
    const open = /^\(\s*/.exec(rest)?.[0].length ?? 1;
    index += open;
    rest = rest.slice(open);
  }
  const stop = close ? rest.indexOf(')') : rest.includes(';') ? rest.indexOf(';') : rest.length;
  if (stop < 0) return undefined;
  const specifier = rest.slice(0, stop).trimEnd();
  if (specifier !== '' && !OPERATOR_RE.test(specifier)) return undefined;
  const after = rest.slice(stop + close.length).trim();
  if (after !== '' && !after.startsWith(';')) return undefined;
  if (specifier === '') {
    // Unpinned: `==X` goes right after the name (or its extras), before any space or marker.
    const nameEnd = value.indexOf(name) + name.length;
    index = extras ? value.indexOf(extras, nameEnd) + extras.length : nameEnd;
  }
  return { name, extras, specifier, index };
}

/** Every requirement inside a `RUN … pip install …` instruction, with the offsets of its specifier. */
export function findPins(text: string, heredocs: HeredocBody[] = []): FoundPin[] {
  const found: FoundPin[] = [];
  for (const instruction of runInstructions(text, heredocs)) {
    let inInstall = false;
    let skipNext = false;
    /** After an option of unknown arity: a bare name next is its value, not a requirement. */
    let maybeValue = false;
    let previous = '';
    for (const word of shellWords(instruction)) {
      const token = word.value;
      if (word.operator) {
        inInstall = false;
      } else if (!inInstall) {
        if (token === 'install' && (previous === 'pip' || previous === 'pip3')) inInstall = true;
      } else if (skipNext) {
        skipNext = false;
      } else if (token.startsWith('-')) {
        skipNext = OPTIONS_WITH_VALUE.has(token);
        maybeValue = !skipNext && !token.includes('=') && !FLAGS_WITHOUT_VALUE.has(token);
        previous = token;
        continue;
      } else if (!word.expands && !token.includes('/')) {
        const req = parseRequirement(token);
        const pin = req && locate(text, word, req.index, req.specifier);
        const optionValue = maybeValue && req?.specifier === '';
        if (req && pin && !optionValue)
          found.push({ name: req.name, extras: req.extras, specifier: req.specifier, ...pin });
      }
      maybeValue = false;
      previous = token;
    }
  }
  return found;
}

/**
 * Where the specifier's bytes are in the text. Undefined when they are not one plain run of bytes there
 * (a quote or backslash inside the version): such a pin cannot be replaced byte for byte.
 */
function locate(
  text: string,
  word: ShellWord,
  index: number,
  specifier: string,
): { start: number; end: number } | undefined {
  if (specifier === '') {
    const last = word.at[index - 1];
    return last === undefined ? undefined : { start: last + 1, end: last + 1 };
  }
  const start = word.at[index];
  const last = word.at[index + specifier.length - 1];
  if (start === undefined || last === undefined || last - start + 1 !== specifier.length) return undefined;
  return text.slice(start, last + 1) === specifier ? { start, end: last + 1 } : undefined;
}

function describeSpecifier(specifier: string): string {
  if (specifier === '') return 'unpinned';
  // `===X` (arbitrary equality) is shown as it is: reading it as `==` of `=X` once broke a rollback.
  const exact = /^==(?!=)\s*([^,\s]+)$/.exec(specifier);
  return exact?.[1] ?? specifier;
}

/** Specifiers' bytes (`originalSpecifier`) in display form, as PinChange `from` shows them. */
export function displayPins(pins: Versions): Versions {
  return Object.fromEntries(Object.entries(pins).map(([k, v]) => [k, describeSpecifier(specifierOf(v))]));
}

/** The specifier currently pinned for each requested package, for display (summaries, dry-run). */
export function currentPins(text: string, requested: string[]): Record<string, string> {
  return Object.fromEntries(
    Object.entries(currentSpecifiers(text, requested)).map(([k, v]) => [k, describeSpecifier(v)]),
  );
}

/** The specifier bytes currently pinned for each requested package (`''` when unpinned), for a rollback. */
export function currentSpecifiers(text: string, requested: string[]): Record<string, string> {
  const pins = findPins(text);
  const out: Record<string, string> = {};
  for (const name of requested) {
    const hit = pins.find((p) => normalizeName(p.name) === normalizeName(name));
    if (hit) out[name] = hit.specifier;
  }
  return out;
}

/** Every place's specifier bytes for each requested package, in file order: what a rollback writes back. */
export function currentSpecifierHits(text: string, requested: string[]): Record<string, string[]> {
  const pins = findPins(text);
  const out: Record<string, string[]> = {};
  for (const name of requested) {
    const hits = pins.filter((p) => normalizeName(p.name) === normalizeName(name));
    if (hits.length > 0) out[name] = hits.map((h) => h.specifier);
  }
  return out;
}

/**
 * The pin a package had before this run changed it, for display: WORKTREE's `pins_found` first (a
 * PIN_UPDATE re-attempt after a crash reads its own edit as `from`), else PIN_UPDATE's `from`; undefined
 * when neither differs from what was requested.
 */
export function previousPin(
  found: string | undefined,
  from: string | undefined,
  to: string,
): string | undefined {
  return [found, from].find((f): f is string => typeof f === 'string' && f !== '' && f !== to);
}

/**
 * The same rule as previousPin, on the bytes: the specifier text a rollback writes back — WORKTREE's
 * `pins_found_raw`, else the change's `from_raw`. Only bytes: a display form is never parsed back (a
 * record without them has nothing to roll back to).
 */
export function originalSpecifier(
  foundRaw: string | undefined,
  change: { from_raw?: string; to: string },
): string | undefined {
  return [foundRaw, change.from_raw].find((s): s is string => s !== undefined && s !== `==${change.to}`);
}

/**
 * The specifier text for a pin value: a display `from` (`0.6.0`, `unpinned`, a range) or, unchanged, a
 * specifier's own bytes (`===0.6.0`, `''`) — which never start with a digit.
 */
export function specifierOf(from: string): string {
  if (from === 'unpinned') return '';
  return /^[0-9]/.test(from) ? `==${from}` : from;
}

/** The version an exact pin value names (`==X`, `===X`, a bare `X`), for VERIFY; undefined for ranges. */
export function exactVersion(pin: string): string | undefined {
  const m = /^={2,3}\s*([^,;\s*]+)$/.exec(specifierOf(pin));
  return m?.[1];
}

/**
 * Sets each requested package to `==version`; with `restore`, the values are specifiers to write back
 * byte for byte (from `originalSpecifier`; a display `from` of an older report is read by specifierOf),
 * and `restoreHits` gives each place its own bytes. A requested package named in a heredoc body is
 * refused (redeploy does not rewrite heredocs), as is a restore whose recorded places no longer line up.
 */
export function rewritePins(
  text: string,
  versions: Versions,
  opts: { restore?: boolean; restoreHits?: Record<string, string[]> } = {},
): PinRewrite {
  const heredocs: HeredocBody[] = [];
  const pins = findPins(text, heredocs);
  const report: PinReport = {};
  const unmatched: string[] = [];
  const refused: Record<string, string> = {};
  const edits: { start: number; end: number; replacement: string }[] = [];
  for (const [name, version] of Object.entries(versions)) {
    const hits = pins.filter((p) => normalizeName(p.name) === normalizeName(name));
    const inHeredoc = heredocNames(heredocs, name);
    if (inHeredoc !== undefined) {
      refused[name] =
        `named in a heredoc body (line ${inHeredoc}); redeploy does not rewrite heredocs — pin it in a \`RUN pip install\` line`;
    }
    const first = hits[0];
    if (!first) {
      report[name] = { from: '', to: version, matched: false };
      if (inHeredoc === undefined) unmatched.push(name);
      continue;
    }
    report[name] = {
      from: describeSpecifier(first.specifier),
      from_raw: first.specifier,
      from_raw_hits: hits.map((h) => h.specifier),
      to: version,
      matched: true,
    };
    if (refused[name]) continue; // nothing of a refused package is rewritten
    const perHit = opts.restore ? opts.restoreHits?.[name] : undefined;
    if (perHit && perHit.length !== hits.length) {
      refused[name] = `${hits.length} place(s) in the Dockerfile, but ${perHit.length} recorded`;
      continue;
    }
    hits.forEach((hit, i) => {
      const replacement = opts.restore ? specifierOf(perHit?.[i] ?? version) : `==${version}`;
      edits.push({ start: hit.start, end: hit.end, replacement });
    });
  }
  // Applied right to left so earlier offsets stay valid.
  edits.sort((a, b) => b.start - a.start);
  let out = text;
  for (const edit of edits) out = out.slice(0, edit.start) + edit.replacement + out.slice(edit.end);
  return { text: out, report, unmatched, refused, changed: out !== text };
}

/**
 * After a rollback's rewrite: the Dockerfile must be origin's with the recorded pins, place by place.
 * Returns what differs (empty when it is exactly that). A package whose bytes were recorded for only
 * one of several places (an older record) cannot be proven and is reported.
 */
export function rollbackDifferences(
  origin: string,
  current: string,
  recorded: Record<string, string[]>,
): string[] {
  const problems: string[] = [];
  const originHits = currentSpecifierHits(origin, Object.keys(recorded));
  for (const [pkg, bytes] of Object.entries(recorded)) {
    const places = originHits[pkg]?.length ?? 0;
    if (places !== bytes.length)
      problems.push(`${pkg}: ${places} place(s) in origin's Dockerfile, ${bytes.length} recorded`);
  }
  if (problems.length > 0) return problems;
  const expected = rewritePins(origin, Object.fromEntries(Object.keys(recorded).map((k) => [k, ''])), {
    restore: true,
    restoreHits: recorded,
  });
  if (Object.keys(expected.refused).length > 0)
    return Object.entries(expected.refused).map(([k, why]) => `${k}: ${why}`);
  if (expected.text === current) return [];
  const a = expected.text.split('\n');
  const b = current.split('\n');
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i])
      problems.push(
        `line ${i + 1}: expected ${JSON.stringify(a[i] ?? '')}, found ${JSON.stringify(b[i] ?? '')}`,
      );
    if (problems.length >= 5) break;
  }
  return problems;
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
