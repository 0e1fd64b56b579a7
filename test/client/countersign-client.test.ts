/**
 * The client API by its package name, and the example in docs/client.md run as printed, against a
 * real Temporal dev server, registry and worker.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { CountersignClient, FileSigner, TERMINAL_STATES, hasCode } from 'countersign';
import pkg from '../../package.json';
import { buildImageFromDirectory } from '../../src/oci/build';
import { buildAndPush, createAttestations, developerSign } from '../../src/promotion/steps';
import { TSX_LOADER } from '../../src/stack/worker-process';
import { COMMIT, TEST_PASSWORD, buildFacts, copyDir, useTestEnv } from '../support/env';

const ROOT = path.resolve(__dirname, '../..');
const HELLO = path.join(ROOT, 'examples/hello');

describe("CountersignClient, imported as 'countersign'", () => {
  const env = useTestEnv();
  let cs: CountersignClient;
  before(async () => {
    env.targetWith({ repository: `${env.stack.registry.address}/apps/ci` }, 'production');
    cs = await CountersignClient.connect({ address: env.stack.temporal.address, temporalUi: 'http://ui.example:8080' });
  });

  /** An image built, signed and attested the way a developer's CI does it. */
  async function ciPublish(name: string): Promise<string> {
    const dir = await copyDir(HELLO, path.join(env.dir, name));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name}\n`);
    const image = await buildImageFromDirectory(dir);
    const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
    const location = { repository: `${env.stack.registry.address}/apps/ci`, digest: image.digest };
    await buildAndPush(deps, dir, location);
    const statements = await createAttestations(deps, dir, location, { ...buildFacts(), invocationId: `ci-${name}`, startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
    await developerSign(deps, location, { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'CI_KEY_PASSWORD' }, [statements.provenanceDigest, statements.sbomDigest]);
    return `${location.repository}@${image.digest}`;
  }

  it('package.json exports the client entry point', () => {
    assert.equal(pkg.main, 'src/client/index.ts');
    assert.deepEqual(pkg.exports['.'], { types: './src/client/index.ts', default: './src/client/index.ts' });
    assert.equal(typeof CountersignClient.connect, 'function');
  });

  it('starts, follows, refuses a vote signed with the wrong key, approves, lists and links', async () => {
    const image = await ciPublish('client-api');
    const ci = await FileSigner.load(path.join(env.keysDir, 'ci.key'), TEST_PASSWORD);
    const started = await cs.start({ target: 'production', source: { image }, commit: COMMIT, initiator: 'ci', signer: ci });
    assert.equal(started.attached, false);
    const again = await cs.start({ target: 'production', source: { image }, commit: COMMIT, initiator: 'ci', signer: ci });
    assert.deepEqual({ id: again.promotionId, attached: again.attached }, { id: started.promotionId, attached: true });

    const seen: string[] = [];
    const waiting = await cs.follow(started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL', onUpdate: (s) => seen.push(s.state), pollMs: 50 });
    assert.equal(waiting.state, 'AWAITING_APPROVAL');
    assert.ok(seen.length >= 1);
    assert.equal((await cs.approval(started.promotionId)).state, 'OPEN');

    const alice = await FileSigner.load(path.join(env.keysDir, 'alice.key'), TEST_PASSWORD);
    await assert.rejects(cs.approve(started.promotionId, { approver: 'bob', signer: alice }), (err) => hasCode(err, 'APPROVAL_REFUSED'));
    // Signed over the view follow answered with (no second query); one naming another run is refused.
    const otherRun = { ...waiting.approval, subject: { ...waiting.approval.subject, runId: 'another-run' } };
    await assert.rejects(cs.approve(started.promotionId, { approver: 'alice', signer: alice, view: otherRun }), (err) => hasCode(err, 'APPROVAL_REFUSED') && /another-run/.test((err as Error).message));
    const view = await cs.approve(started.promotionId, { approver: 'alice', signer: alice, reason: 'reviewed', view: waiting.approval });
    assert.match(view.summary, /alice/);
    const done = await cs.follow(started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    assert.ok(TERMINAL_STATES.includes(done.state));
    assert.deepEqual(await cs.status(started.promotionId), done);

    const listed = await cs.list({ target: 'production', state: 'PROMOTED' });
    assert.ok(listed.some((p) => p.promotionId === started.promotionId && p.digest === started.digest));
    const { runId } = await cs.temporal.workflow.getHandle(started.promotionId).describe();
    assert.equal(await cs.temporalUiLink(started.promotionId), `http://ui.example:8080/namespaces/default/workflows/${started.promotionId}/${runId}/history`);
    await assert.rejects(cs.status('promote-production-0000000000000000'), (err) => hasCode(err, 'UNKNOWN_PROMOTION'));
  });

  it('a rejection needs the approver on the roster and ends the promotion REJECTED with the reason', async () => {
    const image = await ciPublish('client-reject');
    const ci = await FileSigner.load(path.join(env.keysDir, 'ci.key'), TEST_PASSWORD);
    // Started and waited for in one call: the gate's view comes back with the start.
    const started = await cs.startUntilGate({ target: 'production', source: { image }, commit: COMMIT, initiator: 'ci', signer: ci });
    assert.deepEqual({ attached: started.attached, state: started.gate.state }, { attached: false, state: 'AWAITING_APPROVAL' });
    const bob = await FileSigner.load(path.join(env.keysDir, 'bob.key'), TEST_PASSWORD);
    await cs.reject(started.promotionId, { approver: 'bob', signer: bob, reason: 'not this week', view: started.gate.approval });
    const done = await cs.follow(started.promotionId);
    assert.equal(done.state, 'REJECTED');
    assert.match(done.error ?? '', /not this week/);
  });

  it('runs the example in docs/client.md as printed', async () => {
    const doc = await fs.readFile(path.join(ROOT, 'docs/client.md'), 'utf8');
    const example = [...doc.matchAll(/^```ts\n([\s\S]*?)^```$/gm)].map((m) => m[1]).find((b) => b.includes('async function main'));
    assert.ok(example, 'docs/client.md has the example');
    // Inside the package, so `import ... from 'countersign'` resolves to it by name as it would for a user.
    const file = path.join(ROOT, 'test', 'client', `.example-${process.pid}.ts`);
    await fs.writeFile(file, example);
    try {
      const image = await ciPublish('client-doc');
      // Not spawnSync: the worker runs in this process and must keep running meanwhile.
      const r = await promisify(execFile)(process.execPath, ['--import', TSX_LOADER, file], {
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          PATH: process.env.PATH,
          HOME: process.env.HOME,
          TEMPORAL_ADDRESS: env.stack.temporal.address,
          TEMPORAL_UI_URL: 'http://127.0.0.1:8080',
          CI_KEY: path.join(env.keysDir, 'ci.key'),
          CI_KEY_PASSWORD: TEST_PASSWORD,
          ALICE_KEY: path.join(env.keysDir, 'alice.key'),
          ALICE_KEY_PASSWORD: TEST_PASSWORD,
          IMAGE: image,
          COMMIT,
        },
      });
      assert.equal(r.stderr, '');
      assert.match(r.stdout, /^started promote-production-[0-9a-f]{16}$/m);
      assert.match(r.stdout, /^state: AWAITING_APPROVAL; /m);
      assert.match(r.stdout, /^refused: a vote must be signed/m);
      assert.match(r.stdout, /^state: PROMOTED .*apps\/ci:prod/m);
      assert.match(r.stdout, /^temporal: http:\/\/127\.0\.0\.1:8080\/namespaces\/default\/workflows\/promote-production-/m);
      assert.match(r.stdout, new RegExp(`^promote-production-[0-9a-f]{16} ${image.split('@')[1]}$`, 'm'));
    } finally {
      await fs.rm(file, { force: true });
    }
  });

  it('closes', async () => {
    await cs.close();
  });
});
