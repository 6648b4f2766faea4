import path from 'node:path';
import { runGit, unsafeRepositoryMessage } from './git.js';
import { joinPath } from '../core/commands.js';
import { CliError, EXIT_USAGE } from '../core/errors.js';
import { sortVersionsDescending } from '../core/pep440.js';
import { isValidVersion, type Versions } from '../core/versions.js';

/** Package → repository whose `v*` tags version it (CONTRACTS.md, later versions of the skill). */
export const PACKAGE_REPOS: Record<string, string> = {
  'omninode-claude': 'omniclaude',
  'omninode-memory': 'omnimemory',
  'omninode-intelligence': 'omniintelligence',
};

export class AutoVersionsError extends CliError {
  constructor(readonly problems: string[]) {
    super(`--versions auto: ${problems.join('; ')}`, EXIT_USAGE);
  }
}

async function latestTag(repoPath: string): Promise<string | undefined> {
  // The repositories sit in OMNI_HOME: no `git` is looked up there.
  const opts = { untrustedDirs: [path.dirname(repoPath)] };
  const described = await runGit(['-C', repoPath, 'describe', '--tags', '--abbrev=0', '--match', 'v*'], opts);
  if (described.unsafe) throw new AutoVersionsError([unsafeRepositoryMessage(described.unsafe)]);
  if (described.exitCode === 0 && described.stdout.trim()) {
    // Several tags on that commit (v0.3.0 and v0.4.0 both on HEAD): describe picks any; take the highest.
    const onCommit = await runGit(
      [
        '-C',
        repoPath,
        'tag',
        '--points-at',
        `${described.stdout.trim()}^{commit}`,
        '--list',
        'v*',
        '--sort=-v:refname',
      ],
      opts,
    );
    return highest(onCommit.stdout) ?? described.stdout.trim();
  }
  // No v* tag reachable from HEAD: the highest v* tag anywhere in the repo.
  const listed = await runGit(['-C', repoPath, 'tag', '--list', 'v*', '--sort=-v:refname'], opts);
  return listed.exitCode === 0 ? highest(listed.stdout) : undefined;
}

/**
 * The highest tag by PEP 440 (git's version sort puts `v1.0.0rc1` above `v1.0.0`: a suffix sorts
 * after the bare version there). Tags that are not versions only when nothing else is there.
 */
function highest(lines: string): string | undefined {
  const tags = lines
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const byVersion = new Map(tags.map((t) => [t.replace(/^v/, ''), t]));
  const [top] = sortVersionsDescending([...byVersion.keys()]);
  return top === undefined ? undefined : byVersion.get(top);
}

/**
 * `--versions auto`: each plugin's version from the latest `v*` tag of its repository under OMNI_HOME
 * (the leading `v` stripped). Every problem is reported, and nothing starts with a partial set.
 */
export async function autoVersions(omniHome: string): Promise<Versions> {
  const versions: Versions = {};
  const problems: string[] = [];
  for (const [pkg, repo] of Object.entries(PACKAGE_REPOS)) {
    const tag = await latestTag(joinPath(omniHome, repo));
    if (!tag) {
      problems.push(`no v* tag in ${joinPath(omniHome, repo)} (for ${pkg}); give --versions explicitly`);
      continue;
    }
    const version = tag.replace(/^v/, '');
    if (!isValidVersion(version)) problems.push(`tag ${tag} of ${repo} is not a PEP 440 version`);
    else versions[pkg] = version;
  }
  if (problems.length) throw new AutoVersionsError(problems);
  return versions;
}
