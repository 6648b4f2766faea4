// The user documentation as the tests read it: the README and every page under docs/.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: this file is compiled to dist/test/support/, three levels below it. */
export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface DocFile {
  /** Relative to the repository root, with `/` separators (`README.md`, `docs/TRUST.md`). */
  readonly path: string;
  readonly text: string;
}

/** README.md, then docs/*.md in name order. */
export function docFiles(): DocFile[] {
  const pages = fs
    .readdirSync(path.join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .sort()
    .map((f) => `docs/${f}`);
  return ['README.md', ...pages].map((p) => ({
    path: p,
    text: fs.readFileSync(path.join(REPO_ROOT, p), 'utf8'),
  }));
}

/** Everything the docs say, one string: for "is X documented somewhere" checks. */
export function allDocsText(): string {
  return docFiles()
    .map((d) => d.text)
    .join('\n');
}
