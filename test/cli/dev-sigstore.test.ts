/** `countersign dev sigstore`: its help, and its flags refused before anything starts (the run itself: test/workflows/keyless-promotion.test.ts). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { runCli } from '../support/cli';

const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';

describe('countersign dev sigstore', () => {
  it('answers --help with its flags', async () => {
    const run = await runCli(['dev', 'sigstore', '--help']);
    assert.equal(run.code, 0, run.stderr);
    for (const flag of ['--dir', '--repository', '--commit', '--ref']) assert.ok(run.stdout.includes(flag), flag);
  });

  const refusals: Array<[string, string[], RegExp]> = [
    ['no --dir', ['--repository', 'acme/hello', '--commit', COMMIT], /--dir is required/],
    ['a repository that is not owner/name', ['--dir', 'x', '--repository', 'https://github.com/acme/hello', '--commit', COMMIT], /--repository must be owner\/name/],
    ['an abbreviated commit', ['--dir', 'x', '--repository', 'acme/hello', '--commit', COMMIT.slice(0, 7)], /--commit must be a full hex commit id/],
    ['a bare branch name', ['--dir', 'x', '--repository', 'acme/hello', '--commit', COMMIT, '--ref', 'main'], /--ref must be refs\/heads\/NAME or refs\/tags\/NAME/],
    ['a repository over its limit', ['--dir', 'x', '--repository', `a/${'b'.repeat(300)}`, '--commit', COMMIT], /--repository is 302 characters; at most 256 \(owner\/name\)/],
  ];
  for (const [what, argv, expected] of refusals) {
    it(`refuses ${what} with exit 2, starting nothing`, async () => {
      const run = await runCli(['dev', 'sigstore', ...argv]);
      assert.equal(run.code, 2, run.stdout + run.stderr);
      assert.match(run.stderr, expected);
    });
  }
});
