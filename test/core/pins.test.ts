import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  currentPins,
  displayPins,
  exactVersion,
  findPins,
  originalSpecifier,
  previousPin,
  rewritePins,
  unifiedDiff,
} from '../../src/core/pins.js';

const DOCKERFILE = `FROM python:3.12-slim
# omniintelligence==0.1.0 (old pin, keep)
ENV OMNI=1
RUN uv pip install --system \\
    "omninode-claude>=0.3.0,<0.5.0" \\
    "omninode-memory>=0.9.0,<2.0.0" \\
    omniintelligence==0.6.0 \\
    # a comment inside the continuation
    "omnibase-core[extra]==1.2.0" \\
    -r requirements.txt \\
    omnibase_spi>=0.4.0
RUN echo omninode-claude==9.9.9 && pip install omniweb==0.1.0
COPY omninode-claude /app
`;

describe('pin rewrite', () => {
  it('rewrites quoted and bare, exact and range pins, keeping quotes and extras', () => {
    const r = rewritePins(DOCKERFILE, {
      'omninode-claude': '0.4.0',
      omniintelligence: '0.8.0',
      'omnibase-core': '1.3.0',
      'omnibase-spi': '0.5.0',
    });
    assert.deepEqual(r.unmatched, []);
    assert.ok(r.text.includes('    "omninode-claude==0.4.0" \\\n'));
    assert.ok(r.text.includes('    omniintelligence==0.8.0 \\\n'));
    assert.ok(r.text.includes('    "omnibase-core[extra]==1.3.0" \\\n'));
    assert.ok(
      r.text.endsWith(
        '    omnibase_spi==0.5.0\nRUN echo omninode-claude==9.9.9 && pip install omniweb==0.1.0\nCOPY omninode-claude /app\n',
      ),
    );
    assert.deepEqual(r.report, {
      'omninode-claude': {
        from: '>=0.3.0,<0.5.0',
        from_raw: '>=0.3.0,<0.5.0',
        from_raw_hits: ['>=0.3.0,<0.5.0'],
        to: '0.4.0',
        matched: true,
      },
      omniintelligence: {
        from: '0.6.0',
        from_raw: '==0.6.0',
        from_raw_hits: ['==0.6.0'],
        to: '0.8.0',
        matched: true,
      },
      'omnibase-core': {
        from: '1.2.0',
        from_raw: '==1.2.0',
        from_raw_hits: ['==1.2.0'],
        to: '1.3.0',
        matched: true,
      },
      'omnibase-spi': {
        from: '>=0.4.0',
        from_raw: '>=0.4.0',
        from_raw_hits: ['>=0.4.0'],
        to: '0.5.0',
        matched: true,
      },
    });
  });

  it('leaves comments, other commands and non-pip lines untouched', () => {
    const r = rewritePins(DOCKERFILE, { omniintelligence: '0.8.0', 'omninode-claude': '0.4.0' });
    assert.ok(r.text.includes('# omniintelligence==0.1.0 (old pin, keep)'));
    assert.ok(r.text.includes('RUN echo omninode-claude==9.9.9 &&'), 'echo argument is not a requirement');
    assert.ok(r.text.includes('COPY omninode-claude /app'));
    const lines = (s: string) => s.split('\n');
    const changed = lines(r.text).filter((l, i) => l !== lines(DOCKERFILE)[i]);
    assert.equal(changed.length, 2);
  });

  it('finds requirements after a second pip install in the same RUN', () => {
    const r = rewritePins(DOCKERFILE, { omniweb: '0.2.0' });
    assert.ok(r.text.includes('pip install omniweb==0.2.0'));
  });

  it('reports an unmatched package and changes nothing', () => {
    const r = rewritePins(DOCKERFILE, { 'omninode-claude': '0.4.0', 'omni-nothing': '1.0.0' });
    assert.deepEqual(r.unmatched, ['omni-nothing']);
    assert.deepEqual(r.report['omni-nothing'], { from: '', to: '1.0.0', matched: false });
  });

  it('is idempotent: re-applying the same versions changes nothing', () => {
    const once = rewritePins(DOCKERFILE, { 'omninode-claude': '0.4.0' });
    const twice = rewritePins(once.text, { 'omninode-claude': '0.4.0' });
    assert.equal(once.changed, true);
    assert.equal(twice.changed, false);
    assert.equal(twice.text, once.text);
    assert.equal(twice.report['omninode-claude']?.from, '0.4.0');
  });

  it('matches names after PEP 503 normalisation', () => {
    const r = rewritePins(DOCKERFILE, { Omninode_Memory: '1.0.0' });
    assert.ok(r.text.includes('"omninode-memory==1.0.0"'));
    assert.deepEqual(currentPins(DOCKERFILE, ['omnibase.spi']), { 'omnibase.spi': '>=0.4.0' });
  });

  it('does not take option values for requirements', () => {
    const names = findPins(DOCKERFILE).map((p) => p.name);
    assert.ok(!names.includes('requirements.txt'));
    assert.ok(!names.includes('uv'));
  });

  it('renders a unified diff of the change', () => {
    const r = rewritePins(DOCKERFILE, { omniintelligence: '0.8.0' });
    const diff = unifiedDiff(DOCKERFILE, r.text, 'docker/Dockerfile.runtime');
    assert.match(
      diff,
      /^--- a\/docker\/Dockerfile.runtime\n\+\+\+ b\/docker\/Dockerfile.runtime\n@@ -5,5 \+5,5 @@/,
    );
    assert.ok(diff.includes('\n-    omniintelligence==0.6.0 \\\n+    omniintelligence==0.8.0 \\'));
    assert.equal(unifiedDiff(DOCKERFILE, DOCKERFILE, 'x'), '');
  });

  it('restore writes the reported `from`s back: a rewrite and its restore give the text it started with', () => {
    const versions = { 'omninode-claude': '0.4.0', 'omninode-memory': '1.0.0', omniintelligence: '0.8.0' };
    const forward = rewritePins(DOCKERFILE, versions);
    const from = Object.fromEntries(Object.entries(forward.report).map(([k, c]) => [k, c.from]));
    assert.deepEqual(from, {
      'omninode-claude': '>=0.3.0,<0.5.0',
      'omninode-memory': '>=0.9.0,<2.0.0',
      omniintelligence: '0.6.0',
    });
    const back = rewritePins(forward.text, from, { restore: true });
    assert.equal(back.text, DOCKERFILE);
  });

  it('previousPin prefers what WORKTREE found, skips what equals the request', () => {
    assert.equal(previousPin('0.3.0', '0.4.0', '0.4.0'), '0.3.0');
    assert.equal(previousPin('0.4.0', '0.4.0', '0.4.0'), undefined, 'nothing changed');
    assert.equal(previousPin('0.4.0', '0.3.0', '0.4.0'), '0.3.0', 'a reused worktree already edited');
    assert.equal(previousPin(undefined, 'unpinned', '0.4.0'), 'unpinned');
  });
});

/** One Dockerfile line per form; `pkg` is the package in it, `after` the line once pinned to 9.9.9. */
const FORMS: { form: string; line: string; pkg: string; after: string; from: string }[] = [
  {
    form: 'double-quoted marker, spaces around ;',
    line: `    "omnibase-core[extra]==1.2.0 ; python_version >= '3.11'" \\`,
    pkg: 'omnibase-core',
    after: `    "omnibase-core[extra]==9.9.9 ; python_version >= '3.11'" \\`,
    from: '1.2.0',
  },
  {
    form: 'single-quoted marker, no spaces',
    line: `    'omniweb>=0.1,<0.3;python_version<"3.13"' \\`,
    pkg: 'omniweb',
    after: `    'omniweb==9.9.9;python_version<"3.13"' \\`,
    from: '>=0.1,<0.3',
  },
  {
    form: 'arbitrary equality ===',
    line: '    omniintelligence===0.6.0 \\',
    pkg: 'omniintelligence',
    after: '    omniintelligence==9.9.9 \\',
    from: '===0.6.0',
  },
  {
    form: 'compatible release ~=',
    line: '    "omnimemory~=0.6" \\',
    pkg: 'omnimemory',
    after: '    "omnimemory==9.9.9" \\',
    from: '~=0.6',
  },
  {
    form: 'unpinned with a marker',
    line: `    "omnidash ; sys_platform == 'linux'" \\`,
    pkg: 'omnidash',
    after: `    "omnidash==9.9.9 ; sys_platform == 'linux'" \\`,
    from: 'unpinned',
  },
  {
    form: 'bare unpinned with extras',
    line: '    omniclaude[cli] \\',
    pkg: 'omniclaude',
    after: '    omniclaude[cli]==9.9.9 \\',
    from: 'unpinned',
  },
  {
    form: 'spaces inside the requirement, parenthesised specifier',
    line: '    "omnibase-spi (>= 0.4, < 1.0)" \\',
    pkg: 'omnibase-spi',
    after: '    "omnibase-spi (==9.9.9)" \\',
    from: '>= 0.4, < 1.0',
  },
  {
    form: 'trailing text after the requirement',
    line: '    omninode-claude==0.3.0 && echo "omninode-claude==0.3.0 installed"',
    pkg: 'omninode-claude',
    after: '    omninode-claude==9.9.9 && echo "omninode-claude==0.3.0 installed"',
    from: '0.3.0',
  },
];

const dockerfileWith = (line: string, eol = '\n') =>
  ['FROM python:3.12-slim', 'RUN uv pip install --system \\', line, '    last-pkg==1.0', 'CMD ["run"]', '']
    .join(eol)
    // A form whose line ends the install (trailing command) needs no continuation afterwards.
    .replace(/(&& echo "[^"]*")\r?\n {4}last-pkg==1\.0/, '$1');

describe('pin rewrite, byte for byte', () => {
  for (const f of FORMS) {
    for (const eol of ['\n', '\r\n']) {
      const label = `${f.form}${eol === '\r\n' ? ' (CRLF)' : ''}`;
      it(`changes only the specifier: ${label}`, () => {
        const before = dockerfileWith(f.line, eol);
        const r = rewritePins(before, { [f.pkg]: '9.9.9' });
        assert.deepEqual(r.unmatched, []);
        assert.equal(r.text, before.replace(f.line, f.after));
        assert.equal(r.report[f.pkg]?.from, f.from);
        if (eol === '\r\n') assert.equal(r.text.split('\r\n').length, before.split('\r\n').length);
      });
      it(`rollback gives back the original bytes: ${label}`, () => {
        const before = dockerfileWith(f.line, eol);
        const forward = rewritePins(before, { [f.pkg]: '9.9.9' });
        const change = forward.report[f.pkg];
        assert.ok(change);
        const original = originalSpecifier(undefined, change);
        assert.notEqual(original, undefined);
        const back = rewritePins(forward.text, { [f.pkg]: original ?? '' }, { restore: true });
        assert.equal(back.text, before);
      });
    }
  }

  it('leaves pins in shell comments alone: after a command, and on comment lines in a continuation', () => {
    const text = [
      'RUN pip install omniweb==0.1.0 # omniintelligence==0.1.0 pinned elsewhere',
      'RUN pip install omnidash==1.0.0 \\',
      '    # omnimemory==0.1.0 is the old pin \\',
      '    omnimemory==0.2.0 # trailing omniclaude==0.1.0 \\',
      '    omniclaude==0.5.0',
      '# RUN pip install omnibase-core==1.0.0',
      '',
    ].join('\n');
    const r = rewritePins(text, { omnimemory: '0.3.0', omniweb: '0.2.0' });
    assert.equal(
      r.text,
      text.replace('omnimemory==0.2.0', 'omnimemory==0.3.0').replace('omniweb==0.1.0', 'omniweb==0.2.0'),
    );
    // Docker joins the continuation first: the shell comment swallows the rest of the instruction.
    for (const pkg of ['omniintelligence', 'omniclaude', 'omnibase-core']) {
      assert.deepEqual(rewritePins(text, { [pkg]: '9.9.9' }).unmatched, [pkg], `${pkg} is only in a comment`);
    }
  });

  it('does not take shell-expanded or URL requirements for pins', () => {
    const text = 'RUN pip install "omniweb==${V}" omnidash@git+https://x/y omnimemory\\\n    ==1.0\n';
    assert.deepEqual(
      findPins(text).map((p) => p.name),
      ['omnimemory'],
    );
  });

  it('===: the display form is not read back as "=0.6.0"', () => {
    const r = rewritePins(dockerfileWith('    omniintelligence===0.6.0 \\'), { omniintelligence: '0.8.0' });
    assert.deepEqual(r.report['omniintelligence'], {
      from: '===0.6.0',
      from_raw: '===0.6.0',
      from_raw_hits: ['===0.6.0'],
      to: '0.8.0',
      matched: true,
    });
    assert.deepEqual(currentPins(r.text, ['omniintelligence']), { omniintelligence: '0.8.0' });
  });

  it("originalSpecifier: WORKTREE's bytes first, then the change's; never a display form", () => {
    const change = { from: '0.8.0', from_raw: '==0.8.0', to: '0.8.0' };
    assert.equal(originalSpecifier('===0.6.0', change), '===0.6.0', "found's bytes");
    assert.equal(originalSpecifier('', change), '', 'unpinned is the empty specifier');
    assert.equal(originalSpecifier('==0.8.0', change), undefined, 'nothing changed');
    assert.equal(
      originalSpecifier(undefined, { from_raw: '>=0.5,<0.7', to: '0.8.0' }),
      '>=0.5,<0.7',
      "change's bytes",
    );
    assert.equal(
      originalSpecifier(undefined, { to: '0.8.0' }),
      undefined,
      'no bytes recorded: nothing to restore',
    );
  });

  it('exactVersion and displayPins for the rollback VERIFY and record', () => {
    assert.deepEqual(['==0.6.0', '===0.6.0', '0.6.0', '>=1,<2', '~=0.6', '', '==1.*'].map(exactVersion), [
      '0.6.0',
      '0.6.0',
      '0.6.0',
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    assert.deepEqual(displayPins({ a: '==0.6.0', b: '===0.6.0', c: '', d: '>=1' }), {
      a: '0.6.0',
      b: '===0.6.0',
      c: 'unpinned',
      d: '>=1',
    });
  });
});
