// The floor's activities: exactly the external commands of bench/scripts/baseline-redeploy.sh (the same
// argv, in the same order), and its in-process work done the plainest way. Input: the baseline's arguments.
/* global fetch -- Node ≥ 18 */
import fs from 'node:fs/promises';
import path from 'node:path';
import process from 'node:process';
import { execa } from 'execa';

const REQUIRED = [
  'POSTGRES_PASSWORD',
  'KAFKA_BOOTSTRAP_SERVERS',
  'INFISICAL_CLIENT_ID',
  'INFISICAL_CLIENT_SECRET',
  'INFISICAL_PROJECT_ID',
];
const infra = (a) => path.join(a.omniHome, 'omnibase_infra');
const worktree = (a) => path.join(a.worktreeRoot, a.ticket, 'omnibase_infra');
const git = (a, args, opts = {}) => execa('git', ['-C', infra(a), ...args], opts);

/** KEY=value lines of the env file: what the baseline's `set -a; . env_file` exports to later commands. */
async function envFile(a) {
  const text = await fs.readFile(a.envFile, 'utf8');
  const pairs = text.split('\n').map((l) => /^\s*(?:export\s+)?(\w+)=["']?(.*?)["']?\s*$/.exec(l));
  return Object.fromEntries(pairs.filter(Boolean).map((m) => [m[1], m[2]]));
}
const withEnvFile = async (a) => ({ ...process.env, ...(await envFile(a)) });

export const activities = {
  async sync(a) {
    await execa('bash', [path.join(a.omniHome, 'docs/tools/pull-all.sh')], { cwd: a.omniHome });
  },
  async envCheck(a) {
    const vars = await envFile(a);
    const missing = REQUIRED.filter((v) => !vars[v]);
    if (missing.length) throw new Error(`${missing.join(', ')} not set`);
  },
  async worktree(a) {
    await git(a, ['worktree', 'prune']);
    await git(a, ['pull', '--ff-only']);
    await git(a, ['rev-parse', '--verify', '--quiet', `refs/heads/${a.ticket}`], { reject: false });
    await git(a, ['rev-parse', '--verify', '--quiet', 'refs/heads/main']);
    await fs.mkdir(path.join(a.worktreeRoot, a.ticket), { recursive: true });
    await git(a, ['worktree', 'add', '-q', worktree(a), '-b', a.ticket, 'main']);
  },
  async pinUpdate(a) {
    const file = path.join(worktree(a), 'docker/Dockerfile.runtime');
    let text = await fs.readFile(file, 'utf8');
    for (const [name, version] of Object.entries(a.versions)) {
      text = text.replace(
        new RegExp(`^(\\s*)"?${name}[=<>!~][^"\\s\\\\]*"?`, 'gm'),
        `$1"${name}==${version}"`,
      );
    }
    await fs.writeFile(file, text);
  },
  async deploy(a) {
    const pyproject = await fs.readFile(path.join(worktree(a), 'pyproject.toml'), 'utf8');
    const version = /^version\s*=\s*"([^"]+)"/m.exec(pyproject)?.[1] ?? '';
    const force = await fs.stat(path.join(a.deployRoot, version)).then(
      () => ['--force'],
      () => [],
    );
    await execa('./scripts/deploy-runtime.sh', ['--execute', '--restart', ...force], {
      cwd: worktree(a),
      env: await withEnvFile(a),
    });
  },
  async infisical(a) {
    // The baseline's command line, word for word.
    const args =
      'run python scripts/seed-infisical.py --contracts-dir src/omnibase_infra/nodes --execute'.split(' ');
    await execa('uv', args, { cwd: worktree(a), env: await withEnvFile(a) });
  },
  async verify(a) {
    const names = Object.keys(a.versions);
    // Like ours: every endpoint in parallel, and the version check alongside.
    const [codes, shown] = await Promise.all([
      Promise.all(a.urls.map(async (u) => (await fetch(u)).status)),
      execa('docker', ['exec', a.container, 'uv', 'pip', 'show', ...names], { cwd: a.omniHome }),
    ]);
    if (codes.some((c) => c !== 200)) throw new Error(`health: ${codes.join(', ')}`);
    for (const [name, version] of Object.entries(a.versions)) {
      if (!shown.stdout.includes(`Version: ${version}`)) throw new Error(`version mismatch: ${name}`);
    }
  },
  async notify(a) {
    await execa('python3', ['-c', 'import omniclaude.nodes.node_git_effect.models'], { reject: false });
    return `[redeploy] ${a.ticket} complete`;
  },
};
