/**
 * Every flag has a documented limit, checked before anything starts: an oversized or out-of-range
 * value is refused naming the flag and its limit, never quoting the value. "Before anything
 * starts" is shown with Temporal unreachable: had the command got as far as connecting, the
 * answer would be exit 10, not the flag's refusal.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { COMMANDS } from '../../src/cli/main';
import { COMMON_OPTIONS } from '../../src/cli/command';
import { FLAG_LIMITS } from '../../src/limits';
import { runCli } from '../support/cli';

const MB = 'x'.repeat(1024 * 1024);
const NOWHERE = { TEMPORAL_ADDRESS: '127.0.0.1:1' };
const FACTS = ['--source-repo', 'https://github.com/acme/hello', '--commit', 'a'.repeat(40), '--build-command', 'make', '--builder-id', 'https://b'];
const HELLO = path.resolve(__dirname, '../../examples/hello');

describe('argument limits', () => {
  const refusals: Array<[string, string[], RegExp]> = [
    ['1 MB in --source-repo', ['promote', '--dir', HELLO, '--target', 'prod', '--as', 'ci', '--key', 'k', ...FACTS.slice(2), '--source-repo', MB], /^error: BAD_INPUT: --source-repo is 1048576 characters; at most 2048 \(signed into the start request\)\n$/],
    ['1 MB in --as', ['approve', 'promote-prod-0123456789abcdef', '--as', MB, '--key', 'k'], /^error: BAD_INPUT: --as is 1048576 characters; at most 128 \(a roster or initiator name\)\n$/],
    ['1 MB in --reason', ['reject', 'promote-prod-0123456789abcdef', '--as', 'bob', '--key', 'k', '--reason', MB], /^error: BAD_INPUT: --reason is 1048576 characters; at most 2048 \(signed into the statement\)\n$/],
    ['--deadline 200000000d', ['promote', '--dir', HELLO, '--target', 'prod', '--as', 'ci', '--key', 'k', ...FACTS, '--deadline', '200000000d'], /^error: BAD_INPUT: --deadline is longer than 90d, the most an approval deadline may be\n$/],
    ['1 MB in --deadline', ['promote', '--dir', HELLO, '--target', 'prod', '--as', 'ci', '--key', 'k', ...FACTS, '--deadline', MB], /^error: BAD_INPUT: --deadline is 1048576 characters; a duration is at most 32\n$/],
    ['--limit out of range', ['list', '--limit', '99999999'], /^error: BAD_INPUT: --limit must be a whole number from 1 to 10000 \(a count\)\n$/],
    ['a 1 MB promotion id', ['status', MB], /^error: BAD_INPUT: argument 1 is 1048576 characters; at most 4096\n$/],
  ];
  for (const [what, argv, expected] of refusals) {
    it(`${what}: exit 2, the flag and its limit named, the value not echoed`, async () => {
      const run = await runCli(argv, NOWHERE);
      assert.equal(run.code, 2, run.stderr.slice(0, 500));
      assert.match(run.stderr, expected);
      assert.equal(run.stdout, '');
    });
  }

  it('--json carries the same refusal as a code and a message', async () => {
    const run = await runCli(['reject', 'promote-prod-0123456789abcdef', '--as', 'bob', '--key', 'k', '--reason', MB, '--json'], NOWHERE);
    assert.equal(run.code, 2);
    assert.deepEqual(JSON.parse(run.stdout), { error: { code: 'BAD_INPUT', message: 'BAD_INPUT: --reason is 1048576 characters; at most 2048 (signed into the statement)' } });
  });

  it('values within their limits pass the check and reach the command', async () => {
    // A deadline of 90 days is allowed: the refusal that follows is the command's own (no key file).
    const run = await runCli(['promote', '--dir', HELLO, '--target', 'prod', '--as', 'ci', '--key', '/nonexistent/k', ...FACTS, '--deadline', '90d'], NOWHERE);
    assert.doesNotMatch(run.stderr, /--deadline/);
    assert.notEqual(run.code, 0);
  });

  it('every string flag of every command has a limit in the table, and docs/limits.md states each one', () => {
    const flags = new Set<string>();
    for (const command of COMMANDS) {
      for (const [name, spec] of Object.entries({ ...COMMON_OPTIONS, ...command.options })) if (spec.type === 'string') flags.add(name);
    }
    assert.deepEqual([...flags].filter((f) => !FLAG_LIMITS[f]), [], 'flags without a limit');
    const doc = fs.readFileSync(path.resolve(__dirname, '../../docs/limits.md'), 'utf8');
    assert.deepEqual(Object.keys(FLAG_LIMITS).filter((f) => !doc.includes(`\`--${f}\``)), [], 'flags docs/limits.md does not list');
    assert.match(doc, /^## Arguments and configuration$/m);
    assert.match(doc, /^## Parsers$/m);
  });
});
