import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors';
import { maxCachedWorkflowsFrom } from '../../workers/main';
import { runCli } from '../support/cli';

describe('worker settings from the environment', () => {
  it('COUNTERSIGN_MAX_CACHED_WORKFLOWS: unset or blank leaves the SDK default; a whole number caps it', () => {
    assert.equal(maxCachedWorkflowsFrom({}), undefined);
    assert.equal(maxCachedWorkflowsFrom({ COUNTERSIGN_MAX_CACHED_WORKFLOWS: ' ' }), undefined);
    assert.equal(maxCachedWorkflowsFrom({ COUNTERSIGN_MAX_CACHED_WORKFLOWS: '500' }), 500);
    assert.equal(maxCachedWorkflowsFrom({ COUNTERSIGN_MAX_CACHED_WORKFLOWS: '0' }), 0);
  });

  for (const bad of ['lots', '-1', '1.5', '1e3']) {
    it(`refuses COUNTERSIGN_MAX_CACHED_WORKFLOWS=${bad} by name`, () => {
      assert.throws(
        () => maxCachedWorkflowsFrom({ COUNTERSIGN_MAX_CACHED_WORKFLOWS: bad }),
        (e: Error) => hasCode(e, 'BAD_INPUT') && e.message.includes(`COUNTERSIGN_MAX_CACHED_WORKFLOWS: "${bad}" is not a whole number`),
      );
    });
  }

  it('countersign worker exits with the usage code before connecting anywhere', async () => {
    // Port 9 (discard) would hang or refuse a connection; the setting is checked first.
    const run = await runCli(['worker', '--address', '127.0.0.1:9'], { COUNTERSIGN_MAX_CACHED_WORKFLOWS: 'lots' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /COUNTERSIGN_MAX_CACHED_WORKFLOWS: "lots" is not a whole number/);
  });
});
