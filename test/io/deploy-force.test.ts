import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { needsForce, projectVersion } from '../../src/io/deploy-force.js';

describe("omnibase_infra's [project] version (names the deployment directory: --force or not)", () => {
  let dir: string;
  before(async () => {
    dir = await fs.mkdtemp(path.join(os.tmpdir(), 'redeploy-force-'));
  });
  after(() => fs.rm(dir, { recursive: true, force: true }));

  it('reads TOML a regex misreads: a comment after [project], a dotted key, a multi-line string', () => {
    assert.equal(projectVersion('[project] # the package\nname = "x"\nversion = "1.2.3"\n'), '1.2.3');
    assert.equal(projectVersion('project.name = "x"\nproject.version = "2.0.0"\n[tool.uv]\n'), '2.0.0');
    assert.equal(projectVersion('[project]\nversion = """\n3.1.0"""\n'), '3.1.0');
    assert.equal(
      projectVersion('[tool.x]\nversion = "9"\n[project]\nname = "x"\n'),
      undefined,
      "not another table's",
    );
    assert.equal(projectVersion('[project\nversion = "1"'), undefined, 'not TOML');
  });

  it('a deployment directory named by a dotted version key makes DEPLOY pass --force', async () => {
    const repo = path.join(dir, 'repo');
    const deployRoot = path.join(dir, 'deployed');
    await fs.mkdir(repo, { recursive: true });
    await fs.mkdir(path.join(deployRoot, '4.5.6'), { recursive: true });
    await fs.writeFile(
      path.join(repo, 'pyproject.toml'),
      'project.name = "omnibase_infra"\nproject.version = "4.5.6"\n',
    );
    const r = await needsForce(deployRoot, repo, false);
    assert.equal(r.force, true, r.why);
  });
});
