import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { USAGE } from '../../src/cli/usage.js';
import { REPO_ROOT, allDocsText, docFiles, type DocFile } from '../support/docs.js';

/** Markdown outside code: fenced blocks and code spans are text, never links or headings. */
function prose(text: string): string {
  return text
    .replace(/^```[\s\S]*?^```/gm, '')
    .replace(/``[^\n]*?``/g, '')
    .replace(/`[^`]*`/g, '');
}

/** The anchors GitHub gives a page's headings (lower case, punctuation dropped, spaces → `-`, repeats `-1`…). */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const [, heading] of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const base = heading!
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N} _-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

/** Every link and image target of a page (`[text](target)`, `![alt](target)`), outside code. */
function links(doc: DocFile): string[] {
  return [...prose(doc.text).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => m[1]!);
}

const docs = docFiles();

describe('the docs', () => {
  it('every relative link reaches a file, and every #anchor a heading of that page', () => {
    const problems: string[] = [];
    for (const doc of docs) {
      for (const target of links(doc)) {
        if (/^[a-z]+:/i.test(target)) continue; // https:, mailto: — outside the repository
        const [file = '', anchor] = target.split('#');
        const resolved = file ? path.posix.join(path.posix.dirname(doc.path), file) : doc.path;
        const abs = path.join(REPO_ROOT, resolved);
        if (!fs.existsSync(abs)) {
          problems.push(`${doc.path}: ${target} (no ${resolved})`);
          continue;
        }
        if (anchor !== undefined && !anchors(fs.readFileSync(abs, 'utf8')).has(anchor))
          problems.push(`${doc.path}: ${target} (no heading #${anchor} in ${resolved})`);
      }
    }
    assert.deepEqual(problems, []);
  });

  it('the README links every page under docs/', () => {
    const readme = docs.find((d) => d.path === 'README.md')!;
    const linked = new Set(links(readme).map((t) => t.split('#')[0]));
    const unlinked = docs.filter((d) => d.path.startsWith('docs/') && !linked.has(d.path));
    assert.deepEqual(
      unlinked.map((d) => d.path),
      [],
    );
  });

  it('the README states `npm ci && npm test` as the test command (CI runs what it says)', () => {
    const readme = docs.find((d) => d.path === 'README.md')!.text;
    const blocks = [...readme.matchAll(/^```bash\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
    assert.ok(
      blocks.some((b) => /^npm ci && npm test(\s|$)/m.test(b)),
      'a ```bash block of the README starts a line with `npm ci && npm test`',
    );
  });

  it('every option and command of `redeploy --help` is documented', () => {
    const text = allDocsText();
    const options = new Set(USAGE.match(/(?<![\w-])--?[a-z][a-z-]*/g));
    const commandsPart = USAGE.slice(USAGE.indexOf('\nCommands:'));
    const commands = new Set([...commandsPart.matchAll(/^ {2}([a-z]+)\b/gm)].map((m) => m[1]!));
    assert.ok(options.has('--versions') && commands.has('status'), 'the usage text was parsed');
    const missing = [
      ...[...options].filter((o) => !new RegExp(`(?<![\\w-])${o}(?![\\w-])`).test(text)),
      ...[...commands].filter((c) => !text.includes(`redeploy ${c}`)),
    ];
    assert.deepEqual(missing, []);
  });

  it('every docs/ page the code, scripts and config name exists', () => {
    // Messages and comments send readers to these pages: a page renamed or merged away must not strand them.
    const roots = ['src', 'scripts', 'bench', 'deploy', 'skills', 'docker-compose.temporal.yml', '.ci'];
    const files = roots.flatMap((r) => {
      const abs = path.join(REPO_ROOT, r);
      if (!fs.existsSync(abs)) return [];
      if (fs.statSync(abs).isFile()) return [abs];
      return fs
        .readdirSync(abs, { recursive: true })
        .map((f) => path.join(abs, String(f)))
        .filter((f) => fs.statSync(f).isFile() && !f.includes(`${path.sep}node_modules${path.sep}`));
    });
    const named = new Set<string>();
    for (const file of files)
      for (const [ref] of fs.readFileSync(file, 'utf8').matchAll(/\bdocs\/[\w.-]+\.(?:md|png)\b/g))
        named.add(ref);
    assert.ok(named.has('docs/TRUST.md'), 'src/io/config.ts names docs/TRUST.md');
    assert.deepEqual(
      [...named].filter((ref) => !fs.existsSync(path.join(REPO_ROOT, ref))),
      [],
    );
  });
});
