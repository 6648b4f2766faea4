import fs from 'node:fs';
import path from 'node:path';

/**
 * The command the operator started this CLI with, as a hint can print it so that it works when typed
 * again in the same shell: `redeploy` when that is what PATH runs, `npx redeploy` under npm exec,
 * `npm run <script> --` for a script that is just the CLI, else `node <the script>` (relative to the
 * working directory when inside it). Hints used to say `redeploy …` where no `redeploy` exists.
 */
export function invocationOf(opts: {
  script: string | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
}): string {
  const { script, env, cwd } = opts;
  if (env['npm_command'] === 'exec') return 'npx redeploy';
  const event = env['npm_lifecycle_event'];
  // A package script that only starts the CLI takes the hint's arguments after `--`.
  if (env['npm_command'] === 'run-script' && event && /^[\w:.-]+$/.test(event)) {
    const body = env['npm_lifecycle_script'] ?? '';
    if (/^\s*(?:node\s+\S*client\.js|redeploy)\s*$/.test(body)) return `npm run ${event} --`;
  }
  if (!script) return 'redeploy';
  if (path.basename(script) === 'redeploy' && onPath('redeploy', env['PATH'] ?? '') === realpath(script))
    return 'redeploy';
  const rel = path.relative(cwd, script);
  const inside = rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel);
  // The `redeploy` link itself is executable (`./` makes the shell run it from here); node runs the .js entry.
  if (path.basename(script) === 'redeploy') return shellWord(inside ? `./${rel}` : script);
  return `node ${shellWord(inside ? rel : script)}`;
}

function realpath(file: string): string | undefined {
  try {
    return fs.realpathSync(file);
  } catch {
    return undefined;
  }
}

/** What `command` runs from PATH (resolved), as a shell would find it; absolute entries only. */
function onPath(command: string, pathVar: string): string | undefined {
  for (const dir of pathVar.split(path.delimiter)) {
    if (!path.isAbsolute(dir)) continue;
    const file = path.join(dir, command);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      return realpath(file);
    } catch {
      // not here
    }
  }
  return undefined;
}

const shellWord = (a: string): string => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);

let program = 'redeploy';

/** Set once by the CLI entry (client.ts) from how it was started. */
export function setProgram(p: string): void {
  program = p;
}

/** The command hints print for redeploy itself (`redeploy`, `node dist/src/client.js` …). */
export function prog(): string {
  return program;
}
