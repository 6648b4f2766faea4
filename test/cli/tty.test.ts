/* eslint-disable no-control-regex -- these tests assert on the terminal escape sequences themselves */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execa } from 'execa';
import { CLIENT } from '../support/cli.js';
import { withHarness } from '../support/suite.js';

/** Runs the CLI on a real pseudo-terminal (util-linux `script`), as an operator's terminal would. */
function onTty(args: string[], env: Record<string, string>) {
  const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
  const command = [process.execPath, CLIENT, ...args].map(quote).join(' ');
  return execa('script', ['-qfec', command, '/dev/null'], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
  });
}

describe('the live view on a terminal', { concurrency: 1 }, () => {
  const h = withHarness('tty');

  it('redraws a phase list with a spinner and elapsed time on the running phase, in colour', async () => {
    await h.sb.setFault('deploy', { sleepSeconds: 3 });
    try {
      const r = await onTty(['--versions', 'omninode-claude=0.4.0', '--skip-sync'], {
        ...h.vars,
        TERM: 'xterm',
      });
      assert.equal(r.exitCode, 0, r.stdout);
      const out = r.stdout;
      assert.match(out, /\x1b\[\d+A/, 'moves the cursor up to redraw');
      assert.match(
        out,
        /\x1b\[36m[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\x1b\[0m DEPLOY {5}running 0:0\d/,
        'spinner and elapsed time on DEPLOY',
      );
      assert.match(out, /\x1b\[32m✔\x1b\[0m DEPLOY {5}completed/);
      assert.match(out, /\[redeploy\] redeploy-\d{8}-[0-9a-f]{6} complete/);
    } finally {
      await h.sb.clearFault('deploy');
    }
  });

  it('honours NO_COLOR', async () => {
    const r = await onTty(['--versions', 'omninode-claude=0.4.0', '--skip-sync'], {
      ...h.vars,
      TERM: 'xterm',
      NO_COLOR: '1',
    });
    assert.equal(r.exitCode, 0, r.stdout);
    assert.doesNotMatch(r.stdout, /\x1b\[\d+m/, 'no colour codes');
    assert.match(r.stdout, /✔ DEPLOY {5}completed/);
  });
});
