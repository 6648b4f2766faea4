/* eslint-disable no-control-regex -- these tests are about control characters */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { fitColumns } from '../../src/cli/fit-columns.js';
import { terminalLine, terminalSafe } from '../../src/cli/terminal-text.js';

describe('terminal-safe text', () => {
  for (const [name, input, output] of [
    ['OSC title, BEL-terminated', 'a\x1b]0;pwned\x07b', 'ab'],
    ['OSC title, ST-terminated', 'a\x1b]2;pwned\x1b\\b', 'ab'],
    ['OSC without terminator: to the end of the line', 'a\x1b]0;pwned\nb', 'a\nb'],
    ['CSI clear, home, colour, private mode', '\x1b[2J\x1b[H\x1b[31mred\x1b[0m\x1b[?1049h', 'red'],
    ['cursor moves and line erase', 'x\x1b[1A\x1b[2K\x1b[10;10Hy', 'xy'],
    ['reset and charset', '\x1bc\x1b(Bok', 'ok'],
    ['DCS', 'a\x1bP+q544e\x1b\\b', 'ab'],
    ['carriage return and backspace tricks', 'FAILED\rOK    \b\b', 'FAILEDOK    '],
    ['bell, NUL, DEL, lone ESC', 'a\x07\x00\x7f\x1b', 'a'],
    ['C1 CSI and bidi override, shown escaped', 'a\u009b2Jb\u202ec', 'a\\u009b2Jb\\u202ec'],
    ['tab and newline stay', 'a\tb\nc', 'a\tb\nc'],
    ['plain UTF-8 stays', 'omninode-claude: ≥0.3 → 0.4 ✔ é', 'omninode-claude: ≥0.3 → 0.4 ✔ é'],
  ] as const) {
    it(name, () => assert.equal(terminalSafe(input), output));
  }

  it('one line: tab and newline become spaces', () => {
    assert.equal(terminalLine('a\tb\nc\r'), 'a b c');
  });

  it('a JSON line stays JSON with the same data', () => {
    const data = { message: 'x\u0085y\u009b2J\u202e', esc: '\x1b[2J' };
    const line = terminalSafe(JSON.stringify(data));
    assert.doesNotMatch(line, /[\x00-\x1f\u0080-\u009f\u202a-\u202e]/);
    assert.deepEqual(JSON.parse(line), data);
  });
});

describe('fitting a line to the terminal width', () => {
  for (const [name, input, columns, output] of [
    ['ASCII: cut at the width', 'abcdefghij', 4, 'abcd'],
    ['a line that fits stays whole', 'abc', 3, 'abc'],
    ['CJK takes two columns each; a wide char that would straddle the edge goes', '构建镜像中', 5, '构建'],
    ['an emoji is not split into half a surrogate pair', 'ok 🚀🚀', 4, 'ok '],
    ['a family emoji (ZWJ sequence) is one grapheme of two columns', 'a👩‍👩‍👧b', 3, 'a👩‍👩‍👧'],
    ['a combining accent takes none and stays with its letter', 'e\u0301e\u0301e\u0301', 2, 'e\u0301e\u0301'],
    ['no room, nothing', 'abc', 0, ''],
  ] as const) {
    it(name, () => assert.equal(fitColumns(input, columns), output));
  }
});
