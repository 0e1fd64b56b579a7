import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startPromotion, waitForPromotion } from '../../src/client/promotions';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE } from '../../workflows/approval-messages';
import { buildFacts, startTestEnv, type TestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const cosign = locateTool('cosign');

describe('stock cosign checks the approval record', () => {
  let env: TestEnv;
  let stopWorker: () => Promise<void>;
  before(async () => {
    if (!cosign) return;
    env = await startTestEnv();
    stopWorker = await env.startWorker();
  });
  after(async () => {
    await stopWorker?.();
    await env?.close();
  });

  it('cosign verify-attestation --type approval/v1 accepts it with the platform key, and refuses another key', async (t) => {
    if (!cosign) return t.skip('cosign not installed');
    const started = await startPromotion(env.client, { target: env.target, source: { directory: HELLO }, build: buildFacts(), initiator: 'ci' });
    await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    await env.decideAs(started.promotionId, 'alice', 'approve', 'interop');
    assert.equal((await waitForPromotion(env.client, started.promotionId)).state, 'PROMOTED');
    const ref = `${started.repository}@${started.digest}`;
    const run = (key: string) =>
      spawnSync(cosign, ['verify-attestation', '--key', path.join(env.keysDir, key), '--insecure-ignore-tlog=true', '--type', APPROVAL_PREDICATE_TYPE, ref], {
        encoding: 'utf8',
      });
    const ok = run('platform.pub');
    assert.equal(ok.status, 0, ok.stderr);
    const envelope = JSON.parse(ok.stdout.trim().split('\n')[0]);
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    assert.equal(statement.predicateType, APPROVAL_PREDICATE_TYPE);
    assert.deepEqual(statement.predicate.decisions.map((d: { approver: string }) => d.approver), ['alice']);
    assert.notEqual(run('dev.pub').status, 0, 'the developer key did not sign the approval record');
  });
});
