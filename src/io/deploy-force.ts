import fs from 'node:fs/promises';
import path from 'node:path';
import { joinPath } from '../core/commands.js';
import { parse as parseToml } from 'smol-toml';
import { readRegularFile } from './safe-read.js';

/** omnibase_infra's own `[project] version`: names the deployment directory deploy-runtime.sh creates. */
export async function infraVersion(repoPath: string): Promise<string | undefined> {
  // Bounded and non-blocking like every file that steers a command (here: whether --force is passed).
  const text =
    (await readRegularFile(joinPath(repoPath, 'pyproject.toml'), { maxBytes: 1024 * 1024 }).catch(
      () => undefined,
    )) ?? '';
  return projectVersion(text);
}

/**
 * `[project] version` of a pyproject.toml's text, read by a TOML parser: a comment after `[project]`,
 * a dotted `project.version` key or a multi-line string are all TOML a regex misreads (and then no
 * --force would be passed). Undefined when the text is not TOML or has no string version.
 */
export function projectVersion(text: string): string | undefined {
  try {
    const project = (parseToml(text) as { project?: { version?: unknown } }).project;
    return typeof project?.version === 'string' ? project.version.trim() || undefined : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether DEPLOY must pass --force. deploy-runtime.sh refuses (exit 1) when `<deploy root>/<infra version>`
 * exists — the *normal* case for a plugin-only redeploy, since the infra version does not change — and on
 * every re-attempt (automatic retry, operator retry, resume) the directory exists too.
 */
export async function needsForce(
  deployRoot: string,
  repoPath: string,
  reattempt: boolean,
): Promise<{ force: boolean; why: string }> {
  if (reattempt) return { force: true, why: 're-attempt' };
  const version = await infraVersion(repoPath);
  const dir = version ? path.join(deployRoot, version) : undefined;
  if (
    dir &&
    (await fs.stat(dir).then(
      () => true,
      () => false,
    ))
  )
    return { force: true, why: `${dir} exists` };
  return { force: false, why: version ? `first deployment of ${version}` : 'infra version unknown' };
}
