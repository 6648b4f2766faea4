// fresh_setup_s: what a new user meets first. A clean clone of this repository's HEAD, then
// `npm ci && npm run demo`, with empty caches (redeploy's Temporal CLI cache and pip's under a fresh
// XDG_CACHE_HOME, npm's under a fresh npm_config_cache) and no `temporal` on PATH. The demo starts its
// own local dev server (zero-setup mode) on free ports; it is stopped afterwards.
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import process from 'node:process';
import { execa } from 'execa';
import { cpuMs } from '../lib/cpu.mjs';
import { REPO_ROOT } from '../lib/setup.mjs';
import { round } from '../lib/stats.mjs';

async function hasTemporal(dir) {
  return fs.access(path.join(dir, 'temporal'), fs.constants.X_OK).then(
    () => true,
    () => false,
  );
}

export const freshSetup = {
  key: 'fresh_setup_s',
  target: { op: '<=', value: 60 },
  runs: () => 1,
  async run({ mods, log }) {
    const root = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-fresh-'));
    const clone = path.join(root, 'redeploy');
    const [port, uiPort] = [await mods.freePort(), await mods.freePort()];
    const dirs = [];
    for (const d of (process.env.PATH ?? '').split(path.delimiter))
      if (d && !(await hasTemporal(d))) dirs.push(d);
    const env = {
      ...process.env,
      PATH: dirs.join(path.delimiter),
      XDG_CACHE_HOME: path.join(root, 'cache'),
      npm_config_cache: path.join(root, 'npm-cache'),
      REDEPLOY_EMBEDDED_PORT: String(port),
      REDEPLOY_EMBEDDED_UI_PORT: String(uiPort),
    };
    delete env.TEMPORAL_CLI; // found the way a new user's machine finds it
    let stateDir, sandbox;
    try {
      await execa('git', ['clone', '--quiet', '--no-hardlinks', REPO_ROOT, clone]);
      const step = async (args) => {
        const t0 = performance.now();
        const cpu0 = (await cpuMs(process.pid)).children;
        const r = await execa('npm', args, {
          cwd: clone,
          env,
          extendEnv: false,
          all: true,
          reject: false,
          stdin: 'ignore',
        });
        const s = (performance.now() - t0) / 1000;
        // CPU of the reaped process tree (npm, tsc, node, pip…; not the detached dev server): on a shared
        // machine the wall time says more about the neighbours than about us.
        const cpu = ((await cpuMs(process.pid)).children - cpu0) / 1000;
        log(`  npm ${args.join(' ')}: ${round(s, 1)} s, ${round(cpu, 1)} s CPU (exit ${r.exitCode})`);
        if (r.exitCode !== 0) {
          // A demo that failed half-way still started its dev server: find its sandbox to stop it.
          sandbox = /(\/\S*\/redeploy-sandbox-[^/\s]+)\//.exec(r.all)?.[1];
          if (sandbox) stateDir = path.join(sandbox, 'state');
          throw new Error(`npm ${args.join(' ')} exited ${r.exitCode}:\n${r.all.slice(-3000)}`);
        }
        return { s, cpu, out: r.all };
      };
      const ci = await step(['ci', '--no-audit', '--no-fund']);
      const demo = await step(['run', 'demo']);
      stateDir = /REDEPLOY_STATE_DIR=(\S+) node/.exec(demo.out)?.[1];
      sandbox = /^Sandbox \(repos, logs, state files\): (\S+)$/m.exec(demo.out)?.[1];
      const seconds = (re) => Number(re.exec(demo.out)?.[1] ?? NaN);
      return {
        value: ci.s + demo.s,
        details: {
          npm_ci_s: round(ci.s, 1),
          npm_run_demo_s: round(demo.s, 1),
          npm_ci_cpu_s: round(ci.cpu, 1),
          npm_run_demo_cpu_s: round(demo.cpu, 1),
          wheel_download_s: seconds(/\[temporal-cli\] downloaded in ([\d.]+) s/),
          dev_server_first_start_s: seconds(/the local Temporal dev server answers after ([\d.]+) s/),
          temporal_cli_lines: demo.out
            .split('\n')
            .filter((l) => /\[temporal-cli\]|dev server answers/.test(l)),
          design:
            'git clone of HEAD; npm ci && npm run demo with empty XDG_CACHE_HOME and npm cache, no temporal on PATH',
        },
      };
    } finally {
      if (stateDir) {
        await execa(process.execPath, [path.join(clone, 'dist/src/client.js'), 'server', '--stop'], {
          env: { ...env, REDEPLOY_STATE_DIR: stateDir },
          extendEnv: false,
          reject: false,
        });
      }
      // The demo leaves its sandbox for the user to look at; here it is only litter.
      if (sandbox?.startsWith(os.tmpdir())) await fs.rm(sandbox, { recursive: true, force: true });
      await fs.rm(root, { recursive: true, force: true });
    }
  },
};
