import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import { hasCode } from '../../src/errors';
import { writeKeyPair } from '../../src/keys/file-signer';
import { maxCachedWorkflowsFrom, workflowStackTracesFrom } from '../../workers/main';
import { runCli } from '../support/cli';

describe('worker settings from the environment', () => {
  it('COUNTERSIGN_MAX_CACHED_WORKFLOWS: unset or blank leaves the countersign default (DEFAULT_MAX_CACHED_WORKFLOWS); a whole number caps it', () => {
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

  it('COUNTERSIGN_WORKFLOW_STACK_TRACES: off unless 1, true or on; 0, false, off or blank leave it off', () => {
    assert.equal(workflowStackTracesFrom({}), false);
    for (const off of ['', ' ', '0', 'false', 'OFF']) assert.equal(workflowStackTracesFrom({ COUNTERSIGN_WORKFLOW_STACK_TRACES: off }), false, off);
    for (const on of ['1', 'true', 'On', ' 1 ']) assert.equal(workflowStackTracesFrom({ COUNTERSIGN_WORKFLOW_STACK_TRACES: on }), true, on);
  });

  it('refuses COUNTERSIGN_WORKFLOW_STACK_TRACES=yes-please by name', () => {
    assert.throws(
      () => workflowStackTracesFrom({ COUNTERSIGN_WORKFLOW_STACK_TRACES: 'yes-please' }),
      (e: Error) => hasCode(e, 'BAD_INPUT') && e.message.includes('COUNTERSIGN_WORKFLOW_STACK_TRACES: "yes-please" is neither on nor off'),
    );
  });

  it('countersign worker exits with the usage code before connecting anywhere', async () => {
    // Port 9 (discard) would hang or refuse a connection; the setting is checked first.
    const run = await runCli(['worker', '--address', '127.0.0.1:9'], { COUNTERSIGN_MAX_CACHED_WORKFLOWS: 'lots' });
    assert.equal(run.code, 2, run.stderr);
    assert.match(run.stderr, /COUNTERSIGN_MAX_CACHED_WORKFLOWS: "lots" is not a whole number/);
  });

  it('a target whose pinned signatureFormat its admission controller refuses: the worker starts with a warning naming the target and the verifier', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-worker-warn-'));
    try {
      for (const name of ['dev', 'platform', 'alice']) await writeKeyPair(path.join(dir, 'keys'), name, 'worker-warning-test-only');
      const target = (admission: string, format: string) =>
        `    repository: 127.0.0.1:5000/apps/${admission}\n    admission: ${admission}\n    signatureFormat: ${format}\n    policy: { sourceRepo: https://github.com/acme/hello, builderIds: [b1] }\n    approval: { approvers: [alice], deadline: 1h }\n`;
      fs.writeFileSync(
        path.join(dir, 'countersign.yaml'),
        `approvers:\n  alice: { publicKey: keys/alice.pub }\nkeys:\n  developer: { key: keys/dev.key, publicKey: keys/dev.pub }\n  platform: { key: keys/platform.key, publicKey: keys/platform.pub }\n` +
          `targets:\n  shop:\n${target('kyverno', 'legacy')}  admitted:\n${target('policy-controller', 'legacy')}`,
      );
      // Port 9 (discard) refuses the connection: the warning is said before the worker connects anywhere.
      const run = spawnSync(path.resolve(__dirname, '../../bin/countersign'), ['worker', '--config', path.join(dir, 'countersign.yaml'), '--address', '127.0.0.1:9'], { encoding: 'utf8', timeout: 120_000, env: { PATH: process.env.PATH, HOME: dir } });
      const warnings = `${run.stdout}\n${run.stderr}`.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { level: number; msg: string }).filter((l) => l.level === 40);
      // Only shop: policy-controller admits legacy, so the other target says nothing.
      assert.deepEqual(
        warnings.map((w) => w.msg),
        ['targets.shop: signatureFormat legacy with admission kyverno: Kyverno v1.19.1 ImageValidatingPolicy refuses its images (its attestation checks do not read .att tags, kyverno#17109); publish both (the default with admission) or say why not'],
        run.stdout + run.stderr,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
