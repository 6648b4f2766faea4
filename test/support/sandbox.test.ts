// The sandbox's stand-ins honour the contracts in CONTRACTS.md: each is run here
// as a real subprocess (argv arrays, never shell strings) or hit over real HTTP.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { DEFAULT_DOCKERFILE, DEFAULT_ENV, REPOS, createSandbox, type Sandbox } from './sandbox.js';

interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

async function run(
  sb: Sandbox,
  file: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunResult> {
  const r = await execa(file, args, {
    cwd: opts.cwd ?? sb.root,
    env: { ...sb.env, ...opts.env },
    extendEnv: false,
    reject: false,
    timeout: 15_000,
  });
  return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

const git = async (sb: Sandbox, args: string[], cwd: string): Promise<string> =>
  (await execa('git', args, { cwd, env: sb.env, extendEnv: false })).stdout.trim();

async function addWorktree(sb: Sandbox, ticket: string): Promise<string> {
  const wt = path.join(sb.worktreeRoot, ticket, 'omnibase_infra');
  await git(sb, ['worktree', 'add', wt, '-b', ticket], path.join(sb.omniHome, 'omnibase_infra'));
  return wt;
}

const pullAll = (sb: Sandbox, args: string[] = []): Promise<RunResult> =>
  run(sb, 'bash', [path.join(sb.omniHome, 'docs', 'tools', 'pull-all.sh'), ...args]);

// Suites run concurrently (each has its own sandbox); tests inside a suite run in order.
const SUITE = { concurrency: 1 } as const;

void describe('sandbox stand-ins', { concurrency: true }, () => {
  void describe('createSandbox', SUITE, () => {
    let sb: Sandbox;
    before(async () => {
      sb = await createSandbox();
    });
    after(() => sb.close());

    void it('creates a working clone of each repo whose origin is a bare repo in originsDir', async () => {
      for (const repo of REPOS) {
        const clone = path.join(sb.omniHome, repo);
        assert.equal(
          await git(sb, ['remote', 'get-url', 'origin'], clone),
          path.join(sb.originsDir, `${repo}.git`),
        );
        assert.equal(await git(sb, ['branch', '--show-current'], clone), 'main');
        assert.equal(await git(sb, ['status', '--porcelain'], clone), '');
      }
      assert.deepEqual(await fs.readdir(sb.worktreeRoot), []);
    });

    void it('commits omnibase_infra with the Dockerfile, version and executable scripts', async () => {
      const infra = path.join(sb.omniHome, 'omnibase_infra');
      assert.equal(
        await fs.readFile(path.join(infra, 'docker', 'Dockerfile.runtime'), 'utf8'),
        DEFAULT_DOCKERFILE,
      );
      assert.match(
        await fs.readFile(path.join(infra, 'pyproject.toml'), 'utf8'),
        /\[project\]\nname = "omnibase_infra"\nversion = "0\.9\.0"/,
      );
      const modes = await git(sb, ['ls-files', '-s', 'scripts', 'src/omnibase_infra/nodes'], infra);
      assert.match(modes, /^100755 \S+ 0\tscripts\/deploy-runtime\.sh$/m);
      assert.match(modes, /^100755 \S+ 0\tscripts\/update-plugin-pins\.py$/m);
      assert.match(modes, /^100755 \S+ 0\tscripts\/seed-infisical\.py$/m);
      assert.match(modes, /src\/omnibase_infra\/nodes\/\.gitkeep$/m);
      assert.doesNotMatch(modes, /sync-omnibase-env/);
    });

    void it('writes a bash-sourceable env file, also for values with shell metacharacters', async () => {
      const source = (): Promise<RunResult> =>
        run(sb, 'bash', [
          '-c',
          'set -a; . "$1"; printf "%s|%s" "$POSTGRES_PASSWORD" "$KAFKA_BOOTSTRAP_SERVERS"',
          'x',
          sb.envFile,
        ]);
      assert.equal(
        (await source()).stdout,
        `${DEFAULT_ENV.POSTGRES_PASSWORD}|${DEFAULT_ENV.KAFKA_BOOTSTRAP_SERVERS}`,
      );
      const tricky = 'a "q" $HOME `id` \\ b';
      await sb.writeEnvFile({ POSTGRES_PASSWORD: tricky, KAFKA_BOOTSTRAP_SERVERS: 'k:1' });
      assert.equal((await source()).stdout, `${tricky}|k:1`);
    });

    void it('gives child processes HOME, the stand-ins first on PATH and a git identity', async () => {
      assert.equal(sb.env.HOME, sb.homeDir);
      assert.equal(
        (await run(sb, 'bash', ['-c', 'command -v docker; command -v uv'])).stdout,
        `${path.join(sb.binDir, 'docker')}\n${path.join(sb.binDir, 'uv')}`,
      );
      const sha = await sb.pushUpstreamCommit('omnidash', 'notes/a.txt');
      assert.match(sha, /^[0-9a-f]{40}$/);
      assert.equal(await git(sb, ['rev-parse', 'main'], path.join(sb.originsDir, 'omnidash.git')), sha);
    });
  });

  void describe('pull-all.sh stand-in', SUITE, () => {
    let sb: Sandbox;
    before(async () => {
      sb = await createSandbox();
    });
    after(() => sb.close());

    void it('reports OK for every default repo and exits 0', async () => {
      const r = await pullAll(sb);
      assert.equal(r.exitCode, 0, r.stderr);
      for (const repo of REPOS)
        assert.match(r.stdout, new RegExp(`^  OK {7}${repo} \\(already up to date\\)$`, 'm'));
      assert.match(r.stdout, /^10 repo\(s\) up to date\. 0 failed\.$/m);
    });

    void it('fast-forwards a clone after an upstream commit (UPDATED, then OK)', async () => {
      const sha = await sb.pushUpstreamCommit('omniclaude');
      const r = await pullAll(sb, ['omniclaude', 'omnibase_core']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(
        r.stdout,
        '  UPDATED  omniclaude\n  OK       omnibase_core (already up to date)\n\n2 repo(s) up to date. 0 failed.',
      );
      assert.equal(await git(sb, ['rev-parse', 'HEAD'], path.join(sb.omniHome, 'omniclaude')), sha);
      assert.match(
        (await pullAll(sb, ['omniclaude'])).stdout,
        /^ {2}OK {7}omniclaude \(already up to date\)$/m,
      );
    });

    void it('fetches main:main into a bare clone', async () => {
      const dir = path.join(sb.omniHome, 'omnimemory');
      await fs.rm(dir, { recursive: true });
      await git(sb, ['clone', '-q', '--bare', path.join(sb.originsDir, 'omnimemory.git'), dir], sb.root);
      const sha = await sb.pushUpstreamCommit('omnimemory');
      const r = await pullAll(sb, ['omnimemory']);
      assert.equal(r.stdout, '  UPDATED  omnimemory\n\n1 repo(s) up to date. 0 failed.');
      assert.equal(await git(sb, ['rev-parse', 'main'], dir), sha);
    });

    void it('skips a clone that is not on main, and fails on missing repos (exit 1)', async () => {
      await git(sb, ['checkout', '-q', '-b', 'feature-x'], path.join(sb.omniHome, 'omniweb'));
      await fs.rm(path.join(sb.omniHome, 'omnidash'), { recursive: true });
      const r = await pullAll(sb);
      assert.equal(r.exitCode, 1);
      assert.match(r.stdout, /^ {2}SKIPPED {2}omniweb \(on branch: /m);
      assert.match(r.stdout, /^ {2}MISSING {2}omnidash$/m);
      assert.match(r.stdout, /^8 repo\(s\) up to date\. 1 failed\.$/m);
    });

    void it('honours a fault and records every invocation with its argv', async () => {
      await sb.setFault('pull-all', { exitCode: 3, message: 'fatal: unable to access origin' });
      const r = await pullAll(sb, ['omniclaude']);
      assert.equal(r.exitCode, 3);
      assert.equal(r.stderr, 'fatal: unable to access origin');
      await sb.clearFault('pull-all');
      assert.equal((await pullAll(sb, ['omniclaude'])).exitCode, 0);
      assert.equal(await sb.invocations('pull-all'), 7);
      const args = await sb.invocationArgs('pull-all');
      assert.deepEqual(args[0], []);
      assert.deepEqual(args[1], ['omniclaude', 'omnibase_core']);
      assert.equal(await sb.invocations('never-run'), 0);
    });
  });

  void describe('deploy-runtime.sh stand-in', SUITE, () => {
    let sb: Sandbox;
    let wt: string;
    const deploy = (args: string[]): Promise<RunResult> =>
      run(sb, './scripts/deploy-runtime.sh', args, { cwd: wt });
    before(async () => {
      sb = await createSandbox();
      wt = await addWorktree(sb, 'OMN-1');
    });
    after(() => sb.close());

    void it('dry-runs without --execute and rejects bad flags with exit 2', async () => {
      const dry = await deploy([]);
      assert.equal(dry.exitCode, 0, dry.stderr);
      assert.match(dry.stdout, /^\[deploy\] .*dry run/im);
      assert.equal(existsSync(sb.deployRoot + '/0.9.0'), false);
      const restart = await deploy(['--restart']);
      assert.equal(restart.exitCode, 2);
      assert.match(restart.stderr, /--restart requires --execute/);
      const unknown = await deploy(['--execute', '--bogus']);
      assert.equal(unknown.exitCode, 2);
      assert.match(unknown.stderr, /Unknown option: --bogus/);
      assert.deepEqual(await sb.deployedPins(), {});
    });

    void it('deploys the worktree Dockerfile pins; a second run needs --force', async () => {
      const first = await deploy(['--execute', '--restart']);
      assert.equal(first.exitCode, 0, first.stderr);
      assert.match(first.stdout, /^\[deploy\] docker compose build$/m);
      assert.match(first.stdout, /^\[deploy\] DONE$/m);
      const pins = {
        'omninode-claude': '>=0.3.0,<0.5.0',
        'omninode-memory': '>=0.9.0,<2.0.0',
        omniintelligence: '0.6.0',
        'omnibase-core': '1.2.0',
        omnibase_spi: '>=0.4.0',
      };
      assert.deepEqual(await sb.deployedPins(), pins);
      const dir = path.join(sb.deployRoot, '0.9.0');
      assert.equal(
        await fs.readFile(path.join(dir, 'docker', 'Dockerfile.runtime'), 'utf8'),
        DEFAULT_DOCKERFILE,
      );

      const second = await deploy(['--execute', '--restart']);
      assert.equal(second.exitCode, 1);
      assert.match(
        second.stderr,
        /^\[deploy\] ERROR: Deployment directory already exists: .*0\.9\.0 \(use --force\)$/m,
      );

      const forced = await deploy(['--execute', '--restart', '--force']);
      assert.equal(forced.exitCode, 0, forced.stderr);
      assert.deepEqual(await fs.readdir(sb.deployRoot), ['0.9.0']);
      assert.equal(existsSync(sb.deployLockDir), false);
      assert.equal(await sb.invocations('deploy'), 6);
    });

    void it('restores the previous deployment when the build fails', async () => {
      const dir = path.join(sb.deployRoot, '0.9.0');
      await fs.writeFile(path.join(dir, 'marker'), 'previous');
      const before = await sb.deployedPins();
      await fs.writeFile(
        path.join(wt, 'docker', 'Dockerfile.runtime'),
        DEFAULT_DOCKERFILE.replace('omniintelligence==0.6.0', 'omniintelligence==9.9.9'),
      );
      await sb.setFault('deploy', {
        exitCode: 17,
        message: 'failed to solve: process "/bin/sh -c uv pip install" did not complete',
      });
      const r = await deploy(['--execute', '--restart', '--force']);
      await sb.clearFault('deploy');
      assert.equal(r.exitCode, 17);
      assert.match(r.stderr, /failed to solve/);
      assert.equal(await fs.readFile(path.join(dir, 'marker'), 'utf8'), 'previous');
      assert.deepEqual(await fs.readdir(sb.deployRoot), ['0.9.0']);
      assert.deepEqual(await sb.deployedPins(), before);
      assert.equal(existsSync(sb.deployLockDir), false);
      await git(sb, ['checkout', '--', 'docker/Dockerfile.runtime'], wt);
    });

    void it('refuses to run while another deployment holds the lock, and takes over a stale lock', async () => {
      await sb.setFault('deploy', { sleepSeconds: 2 });
      const slow = deploy(['--execute', '--restart', '--force']);
      const deadline = Date.now() + 5000;
      while (!existsSync(path.join(sb.deployLockDir, 'pid')) && Date.now() < deadline) await sleep(25);
      const blocked = await deploy(['--execute', '--restart', '--force']);
      assert.equal(blocked.exitCode, 2);
      assert.match(blocked.stderr, /^\[deploy\] Another deployment is running/m);
      assert.equal((await slow).exitCode, 0);
      await sb.clearFault('deploy');

      // A pid that cannot be alive (above any pid_max) marks the lock stale.
      await fs.mkdir(sb.deployLockDir);
      await fs.writeFile(path.join(sb.deployLockDir, 'pid'), '99999999\n');
      const r = await deploy(['--execute', '--restart', '--force']);
      assert.equal(r.exitCode, 0, r.stderr);
      assert.match(r.stderr, /stale lock/);
      assert.equal(existsSync(sb.deployLockDir), false);
    });
  });

  void describe('update-plugin-pins.py stand-in (via the uv stand-in)', SUITE, () => {
    let sb: Sandbox;
    let wt: string;
    before(async () => {
      sb = await createSandbox();
      wt = await addWorktree(sb, 'OMN-2');
    });
    after(() => sb.close());

    void it('sets every pin form to ==version, keeps quotes and comments, ends stdout with JSON', async () => {
      const r = await run(
        sb,
        'uv',
        [
          'run',
          'python',
          'scripts/update-plugin-pins.py',
          '--versions',
          'omninode_claude=0.4.0,omninode-memory=0.6.1,omniintelligence=0.8.0,omnibase-core=1.3.0,omnibase-spi=0.5.0,nope=1.0',
          '--dockerfile',
          'docker/Dockerfile.runtime',
        ],
        { cwd: wt },
      );
      assert.equal(r.exitCode, 0, r.stderr);
      const last = r.stdout.trim().split('\n').at(-1) ?? '';
      assert.deepEqual(JSON.parse(last), {
        omninode_claude: { from: '>=0.3.0,<0.5.0', to: '0.4.0', matched: true },
        'omninode-memory': { from: '>=0.9.0,<2.0.0', to: '0.6.1', matched: true },
        omniintelligence: { from: '0.6.0', to: '0.8.0', matched: true },
        'omnibase-core': { from: '1.2.0', to: '1.3.0', matched: true },
        'omnibase-spi': { from: '>=0.4.0', to: '0.5.0', matched: true },
        nope: { from: null, to: '1.0', matched: false },
      });
      assert.match(r.stderr, /^ {2}omniintelligence: 0\.6\.0 -> 0\.8\.0$/m);
      assert.match(r.stderr, /^ {2}nope: NOT FOUND/m);
      const expected = DEFAULT_DOCKERFILE.replace(
        '"omninode-claude>=0.3.0,<0.5.0" \\',
        '"omninode-claude==0.4.0" \\',
      )
        .replace('"omninode-memory>=0.9.0,<2.0.0" \\', '"omninode-memory==0.6.1" \\')
        .replace('    omniintelligence==0.6.0 \\', '    omniintelligence==0.8.0 \\')
        .replace('"omnibase-core==1.2.0" \\', '"omnibase-core==1.3.0" \\')
        .replace('    omnibase_spi>=0.4.0\n', '    omnibase_spi==0.5.0\n');
      assert.notEqual(expected, DEFAULT_DOCKERFILE);
      assert.equal(await fs.readFile(path.join(wt, 'docker', 'Dockerfile.runtime'), 'utf8'), expected);
      assert.match(expected, /# omniintelligence==0\.1\.0 \(old pin, keep\)/);
      assert.equal(await sb.invocations('update-plugin-pins'), 1);
    });

    void it('exits 2 for a missing Dockerfile, and uv rejects what it does not stand in for', async () => {
      const missing = await run(
        sb,
        'uv',
        [
          'run',
          'python',
          'scripts/update-plugin-pins.py',
          '--versions',
          'a=1',
          '--dockerfile',
          'nope/Dockerfile',
        ],
        { cwd: wt },
      );
      assert.equal(missing.exitCode, 2);
      assert.match(missing.stderr, /Dockerfile not found/);
      assert.equal((await run(sb, 'uv', ['pip', 'install', 'x'], { cwd: wt })).exitCode, 2);
    });

    void it('prints the named env values to stdout and stderr under a printEnv fault', async () => {
      await sb.setFault('update-plugin-pins', {
        printEnv: ['POSTGRES_PASSWORD'],
        exitCode: 1,
        message: 'boom',
      });
      const r = await run(sb, 'uv', ['run', 'scripts/update-plugin-pins.py', '--versions', 'a=1'], {
        cwd: wt,
        env: { POSTGRES_PASSWORD: DEFAULT_ENV.POSTGRES_PASSWORD! },
      });
      assert.equal(r.exitCode, 1);
      assert.equal(r.stdout, `POSTGRES_PASSWORD=${DEFAULT_ENV.POSTGRES_PASSWORD}`);
      assert.equal(r.stderr, `POSTGRES_PASSWORD=${DEFAULT_ENV.POSTGRES_PASSWORD}\nboom`);
    });
  });

  void describe('docker stand-in', SUITE, () => {
    let sb: Sandbox;
    before(async () => {
      sb = await createSandbox({
        infraVersion: '2.0.0',
        initialDeployed: { 'omninode-claude': '0.3.1', omniintelligence: '0.6.0', omnibase_spi: '0.4.2' },
      });
    });
    after(() => sb.close());

    void it('prints uv pip show blocks separated by --- with PEP 503 name matching', async () => {
      const r = await run(sb, 'docker', [
        'exec',
        'omninode-runtime',
        'uv',
        'pip',
        'show',
        'omninode_claude',
        'OmniBase.SPI',
      ]);
      assert.equal(r.exitCode, 0, r.stderr);
      const block = (name: string, version: string): string =>
        `Name: ${name}\nVersion: ${version}\nLocation: /usr/lib/python3/site-packages\nRequires: \nRequired-by: `;
      assert.equal(r.stdout, `${block('omninode-claude', '0.3.1')}\n---\n${block('omnibase_spi', '0.4.2')}`);
    });

    void it('warns about missing packages and exits 1 only when none is found', async () => {
      const some = await run(sb, 'docker', [
        'exec',
        'omninode-runtime',
        'uv',
        'pip',
        'show',
        'nope',
        'omniintelligence',
        'other',
      ]);
      assert.equal(some.exitCode, 0);
      assert.match(some.stdout, /^Version: 0\.6\.0$/m);
      assert.equal(some.stderr, 'warning: Package(s) not found for: nope, other');
      const none = await run(sb, 'docker', ['exec', 'omninode-runtime', 'uv', 'pip', 'show', 'nope']);
      assert.equal(none.exitCode, 1);
      assert.equal(none.stdout, '');
    });

    void it('knows only the omninode-runtime container and the exec … uv pip show command', async () => {
      const wrong = await run(sb, 'docker', ['exec', 'runtime', 'uv', 'pip', 'show', 'x']);
      assert.equal(wrong.exitCode, 1);
      assert.equal(wrong.stderr, 'Error response from daemon: No such container: runtime');
      assert.equal((await run(sb, 'docker', ['ps'])).exitCode, 1);
      assert.equal(await sb.invocations('docker'), 5);
    });

    void it('delays by DOCKER_STANDIN_DELAY_MS', async () => {
      const t0 = Date.now();
      const r = await run(
        sb,
        'docker',
        ['exec', 'omninode-runtime', 'uv', 'pip', 'show', 'omniintelligence'],
        {
          env: { DOCKER_STANDIN_DELAY_MS: '400' },
        },
      );
      assert.equal(r.exitCode, 0);
      assert.ok(Date.now() - t0 >= 400);
    });

    void it('sleeps in a grandchild under a sleepSeconds fault (killing the group ends it)', async () => {
      await sb.setFault('docker', { sleepSeconds: 30 });
      const child = execa('docker', ['exec', 'omninode-runtime', 'uv', 'pip', 'show', 'x'], {
        env: sb.env,
        extendEnv: false,
        reject: false,
        detached: true,
      });
      const pid = child.pid!;
      let sleeper = '';
      for (let i = 0; i < 100 && sleeper === ''; i++) {
        await sleep(30);
        sleeper = (await execa('pgrep', ['-P', String(pid)], { reject: false })).stdout.trim();
      }
      assert.match(sleeper, /^\d+$/, 'docker stand-in should have a child sleep process');
      process.kill(-pid, 'SIGKILL');
      await child;
      await sb.clearFault('docker');
      let gone = false;
      for (let i = 0; i < 40 && !gone; i++) {
        // A zombie counts as gone: in a container without an init nobody reaps orphans.
        const stat = (await execa('ps', ['-o', 'stat=', '-p', sleeper], { reject: false })).stdout.trim();
        gone = stat === '' || stat.startsWith('Z');
        if (!gone) await sleep(50);
      }
      assert.ok(gone, `sleep ${sleeper} should have died with its process group`);
    });

    void it('deploys under the configured omnibase_infra version and updates what docker reports', async () => {
      const wt = await addWorktree(sb, 'OMN-3');
      const r = await run(sb, './scripts/deploy-runtime.sh', ['--execute', '--restart'], { cwd: wt });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.ok(existsSync(path.join(sb.deployRoot, '2.0.0', 'docker', 'Dockerfile.runtime')));
      const show = await run(sb, 'docker', [
        'exec',
        'omninode-runtime',
        'uv',
        'pip',
        'show',
        'omnibase-core',
      ]);
      assert.match(show.stdout, /^Name: omnibase-core\nVersion: 1\.2\.0$/m);
    });
  });

  void describe('INFISICAL stand-ins', SUITE, () => {
    let sb: Sandbox;
    let wt: string;
    before(async () => {
      sb = await createSandbox();
      wt = await addWorktree(sb, 'OMN-4');
    });
    after(() => sb.close());

    void it('seed-infisical.py exits 1 without INFISICAL_PROJECT_ID and prints the diff summary with it', async () => {
      const args = [
        'run',
        'python',
        'scripts/seed-infisical.py',
        '--contracts-dir',
        'src/omnibase_infra/nodes',
        '--execute',
      ];
      const without = await run(sb, 'uv', args, { cwd: wt });
      assert.equal(without.exitCode, 1);
      assert.match(without.stderr, /INFISICAL_PROJECT_ID/);
      const ok = await run(sb, 'uv', args, {
        cwd: wt,
        env: { INFISICAL_PROJECT_ID: '1f0e7c1a-2b3c-4d5e-8f90-123456789abc' },
      });
      assert.equal(ok.exitCode, 0, ok.stderr);
      assert.match(
        ok.stdout,
        /^Seeding Infisical from contracts\.\.\.\n[\s\S]*^--- Seed Diff Summary ---\n[\s\S]*^--- End Diff Summary ---\nseed-infisical\.py: complete$/m,
      );
      assert.equal(await sb.invocations('seed-infisical'), 2);
    });

    void it('addSyncEnvScript commits an executable sync-omnibase-env.sh to origin and the clone', async () => {
      await sb.addSyncEnvScript();
      const infra = path.join(sb.omniHome, 'omnibase_infra');
      assert.match(await git(sb, ['ls-files', '-s', 'scripts/sync-omnibase-env.sh'], infra), /^100755 /);
      assert.equal(
        await git(sb, ['rev-parse', 'HEAD'], infra),
        await git(sb, ['rev-parse', 'main'], path.join(sb.originsDir, 'omnibase_infra.git')),
      );
      const wt2 = await addWorktree(sb, 'OMN-5');
      const r = await run(sb, 'bash', [path.join(wt2, 'scripts', 'sync-omnibase-env.sh')], { cwd: wt2 });
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(await sb.invocations('sync-omnibase-env'), 1);
    });
  });

  void describe('health servers', SUITE, () => {
    let sb: Sandbox;
    before(async () => {
      sb = await createSandbox({ initialDeployed: { omniintelligence: '0.8.0' } });
    });
    after(() => sb.close());

    void it('serves /health for each service on 127.0.0.1 with the deployed pins', async () => {
      assert.deepEqual(Object.keys(sb.health.endpoints), [
        'omninode-runtime',
        'intelligence-api',
        'omninode-contract-resolver',
      ]);
      for (const [name, url] of Object.entries(sb.health.endpoints)) {
        assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/health$/);
        const res = await fetch(url);
        assert.equal(res.status, 200);
        assert.deepEqual(await res.json(), {
          status: 'healthy',
          service: name,
          pins: { omniintelligence: '0.8.0' },
        });
      }
      assert.equal(sb.health.requests('intelligence-api'), 1);
    });

    void it('goes down and comes back up, also after a delay', async () => {
      const url = sb.health.endpoints['omninode-runtime']!;
      sb.health.setDown('omninode-runtime', 500);
      assert.equal((await fetch(url)).status, 500);
      sb.health.setUp('omninode-runtime');
      assert.equal((await fetch(url)).status, 200);
      sb.health.setUpAfter('omninode-runtime', 800);
      assert.equal((await fetch(url)).status, 503);
      await sleep(820);
      assert.equal((await fetch(url)).status, 200);
    });
  });

  void describe('Slack stand-in', SUITE, () => {
    let sb: Sandbox;
    before(async () => {
      sb = await createSandbox();
    });
    after(() => sb.close());

    const post = (url: string, body: string, headers: Record<string, string>): Promise<Response> =>
      fetch(url, { method: 'POST', body, headers });

    void it('accepts chat.postMessage as form or JSON with the bot token', async () => {
      const { slack } = sb;
      assert.match(slack.apiUrl, /^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
      const form = new URLSearchParams({
        channel: slack.channel,
        text: 'hello',
        blocks: JSON.stringify([{ type: 'section' }]),
      });
      const r1 = await post(`${slack.apiUrl}chat.postMessage`, form.toString(), {
        authorization: `Bearer ${slack.token}`,
        'content-type': 'application/x-www-form-urlencoded',
      });
      assert.deepEqual(await r1.json(), {
        ok: true,
        channel: slack.channel,
        ts: '1700000000.000100',
        message: { type: 'message', text: 'hello', ts: '1700000000.000100', blocks: [{ type: 'section' }] },
      });
      const r2 = await post(
        `${slack.apiUrl}chat.postMessage`,
        JSON.stringify({ channel: slack.channel, text: 'json' }),
        {
          authorization: `Bearer ${slack.token}`,
          'content-type': 'application/json; charset=utf-8',
        },
      );
      assert.equal(((await r2.json()) as { ok: boolean }).ok, true);
      assert.deepEqual(
        slack.requests.map((r) => [r.kind, r.body.text]),
        [
          ['chat.postMessage', 'hello'],
          ['chat.postMessage', 'json'],
        ],
      );
      assert.deepEqual(slack.requests[0]?.body.blocks, [{ type: 'section' }]);
    });

    void it('answers ok:false for a wrong token or channel', async () => {
      const { slack } = sb;
      const bad = await post(
        `${slack.apiUrl}chat.postMessage`,
        JSON.stringify({ channel: slack.channel, text: 'x' }),
        {
          authorization: 'Bearer xoxb-wrong',
          'content-type': 'application/json',
        },
      );
      assert.deepEqual(await bad.json(), { ok: false, error: 'invalid_auth' });
      const chan = await post(
        `${slack.apiUrl}chat.postMessage`,
        JSON.stringify({ channel: 'C999', text: 'x' }),
        {
          authorization: `Bearer ${slack.token}`,
          'content-type': 'application/json',
        },
      );
      assert.deepEqual(await chan.json(), { ok: false, error: 'channel_not_found' });
    });

    void it('answers the webhook with ok, and failNext overrides the next n responses', async () => {
      const { slack } = sb;
      slack.failNext(1, {
        status: 429,
        body: { ok: false, error: 'ratelimited' },
        headers: { 'retry-after': '1' },
      });
      const limited = await post(slack.webhookUrl, JSON.stringify({ text: 'a' }), {
        'content-type': 'application/json',
      });
      assert.equal(limited.status, 429);
      assert.equal(limited.headers.get('retry-after'), '1');
      await limited.arrayBuffer();
      const ok = await post(slack.webhookUrl, JSON.stringify({ text: 'a' }), {
        'content-type': 'application/json',
      });
      assert.equal(ok.status, 200);
      assert.equal(await ok.text(), 'ok');
      assert.equal(slack.requests.filter((r) => r.kind === 'webhook').length, 2);
    });
  });
});
