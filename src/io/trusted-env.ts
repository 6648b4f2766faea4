import path from 'node:path';
import type { CommandSpec } from '../core/commands.js';

/**
 * What every subprocess redeploy starts may look up. A `PATH` entry that is empty, `.` or relative
 * means "the current directory": with OMNI_HOME as the working directory a `docker` or `git` file
 * there ran as root. Entries at or under a directory others can write (OMNI_HOME) go too.
 */

/** Used when nothing usable is left: the Debian/FHS root PATH. */
export const FALLBACK_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

function inside(dir: string, root: string): boolean {
  const rel = path.relative(path.resolve(root), path.resolve(dir));
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** `PATH` with only absolute entries, none under `untrusted`, each once, in order. */
export function trustedPath(value: string | undefined, untrusted: readonly string[] = []): string {
  const kept: string[] = [];
  for (const entry of (value ?? '').split(':')) {
    if (entry === '' || !path.isAbsolute(entry)) continue;
    if (untrusted.some((u) => u !== '' && inside(entry, u))) continue;
    if (!kept.includes(entry)) kept.push(entry);
  }
  return kept.length > 0 ? kept.join(':') : FALLBACK_PATH;
}

/**
 * Python never takes code from its working directory or the environment: a bare `python3` runs with
 * `-I` (isolated: no `''`/cwd on sys.path, no PYTHON* variables, no user site). A worktree script run
 * through `uv run python <script>` gets `-E -s` instead: `-I` would also drop the script's own
 * directory from sys.path, and today's seed-infisical.py imports its sibling `_infisical_util` — that
 * directory is the verified worktree's scripts/.
 */
export function isolatePython(spec: CommandSpec): CommandSpec {
  const base = path.basename(spec.file);
  if (/^python[0-9.]*$/.test(base)) {
    return spec.args[0] === '-I' ? spec : { ...spec, args: ['-I', ...spec.args] };
  }
  if (base === 'uv' && spec.args[0] === 'run' && /^python[0-9.]*$/.test(spec.args[1] ?? '')) {
    const rest = spec.args.slice(2);
    if (rest[0] === '-E' && rest[1] === '-s') return spec;
    return { ...spec, args: ['run', spec.args[1] as string, '-E', '-s', ...rest] };
  }
  return spec;
}
