/**
 * The gate holds against a caller who can reach Temporal or write what a request carries: each
 * attack on a real Temporal dev server and registry, ending with no platform signature on the
 * digest (our verifier, and stock cosign when the toolchain installed it).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { describe, it } from 'node:test';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import { runsInFlight, runsSignedBy } from '../../src/client/pinned-runs';
import { decide, DIGEST_KEY, getApproval, getPromotionStatus, PLATFORM_KEY_KEY, signReopen, STATE_KEY, TARGET_KEY, waitForPromotion } from '../../src/client/promotions';
import { keyFingerprint } from '../../src/keys/public-key';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { writeKeyPair } from '../../src/keys/file-signer';
import { buildAndPush, createAttestations, developerSign } from '../../src/promotion/steps';
import { buildImageFromDirectory } from '../../src/oci/build';
import { newNonce, signStatement } from '../../src/requests/sign';
import { START_REQUEST_TYPE } from '../../src/requests/start-request';
import { locateTool } from '../../src/stack/tools';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode } from '../../src/errors';
import { PROMOTION_WORKFLOW_TYPE, TASK_QUEUE, promotionId, type PromotionStatus } from '../../workflows/promotion-messages';
import { buildFacts, copyDir, COMMIT, PLATFORM_PASSWORD_ENV, TEST_PASSWORD, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const cosign = locateTool('cosign');

describe('the worker refuses a configuration that would let the gate be walked around', () => {
  const dir = path.resolve(__dirname, '../fixtures/gate-config');
  const base = () => ({
    registry: '127.0.0.1:5000',
    approvers: { alice: { publicKey: 'keys/alice.pub' }, bob: { publicKey: 'keys/bob.pub' } },
    initiators: { ci: { publicKey: 'keys/ci.pub', targets: ['prod'] } },
    targets: {
      prod: {
        repository: 'apps/hello',
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
        approval: { approvers: ['alice', 'bob'] },
        keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
      },
    },
  });
  const problems = (raw: Record<string, any>): string[] => {
    try {
      parseConfig(raw, path.join(dir, 'countersign.yaml'));
      return [];
    } catch (err) {
      assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
      return (err as CountersignError).details!.problems as string[];
    }
  };

  it('accepts the base configuration (the cases below are real refusals)', () => {
    assert.deepEqual(problems(base()), []);
  });

  it('one key under two roster names', () => {
    const raw = base();
    raw.approvers.bob.publicKey = 'keys/alice.pub';
    assert.ok(problems(raw).some((p) => /^approvers\.bob\.publicKey: .*already alice's: one key may stand for one person only/.test(p)), JSON.stringify(problems(raw)));
  });

  it('an initiator key that is an approver of another name', () => {
    const raw = base();
    raw.initiators.ci.publicKey = 'keys/bob.pub';
    assert.ok(problems(raw).some((p) => /^initiators\.ci\.publicKey: .*already bob's/.test(p)), JSON.stringify(problems(raw)));
  });

  it('a developer key that is the platform key', () => {
    const raw = base();
    raw.targets.prod.keys.developer.publicKey = 'keys/platform.pub';
    assert.ok(problems(raw).some((p) => /^targets\.prod\.keys\.developer: is the platform key/.test(p)), JSON.stringify(problems(raw)));
  });

  it('a typo in a policy key (buildComand) is an error, not a check switched off', () => {
    const raw = base();
    (raw.targets.prod.policy as Record<string, unknown>).buildComand = 'make';
    assert.ok(problems(raw).some((p) => p.startsWith('targets.prod.policy.buildComand: unknown key')), JSON.stringify(problems(raw)));
  });
});

describe('attacks on the gate', () => {
  const env = useTestEnv();
  let seq = 0;

  async function variant(name: string): Promise<{ dir: string; digest: string }> {
    const dir = await copyDir(HELLO, path.join(env.dir, `${name}-${++seq}`));
    await fs.writeFile(path.join(dir, 'VERSION'), `${name} ${seq}\n`);
    return { dir, digest: (await buildImageFromDirectory(dir)).digest };
  }

  /** No production signature on the digest: by our verifier and, when installed, by stock cosign. */
  async function assertNoPlatformSignature(repository: string, digest: string): Promise<void> {
    const platformPub = path.join(env.keysDir, 'platform.pub');
    const repoPath = repository.slice(repository.indexOf('/') + 1);
    assert.equal((await verifyImageSignatures(env.store, repoPath, digest, await fs.readFile(platformPub, 'utf8'))).valid, 0, 'no platform signature');
    if (!cosign) return;
    const run = spawnSync(cosign, ['verify', '--key', platformPub, '--insecure-ignore-tlog=true', '--allow-http-registry', `${repository}@${digest}`], {
      encoding: 'utf8',
      env: { ...process.env, HOME: env.dir },
    });
    assert.notEqual(run.status, 0, `stock cosign must find no platform signature: ${run.stdout}`);
  }

  async function refusal(id: string, code: string): Promise<PromotionStatus> {
    const done = await waitForPromotion(env.client, id);
    assert.equal(done.state, 'REFUSED', `${id}: ${done.state} ${done.error}`);
    assert.match(done.error ?? '', new RegExp(`^${code}: `));
    assert.deepEqual(done.timeline.map((t) => `${t.step}:${t.status}`), ['authorize:failed'], 'nothing ran after the refusal');
    return done;
  }

  /** Starts the promotion workflow directly, as anyone with access to Temporal can, with the search attributes it likes. */
  async function startRaw(target: string, digest: string, input: unknown, searchAttributes: SearchAttributePair[] = []) {
    const workflowId = promotionId(target, digest);
    await env.client.workflow.start(PROMOTION_WORKFLOW_TYPE, { taskQueue: TASK_QUEUE, workflowId, args: [input], typedSearchAttributes: new TypedSearchAttributes(searchAttributes) });
    return workflowId;
  }

  it('a workflow started with its own roster, policy and keys (no signed request) is refused before any step; the platform key signs nothing', async () => {
    const { dir, digest } = await variant('forged-input');
    const repository = env.target.repository;
    // What the input used to carry: a one-person roster, a lax policy, and the platform key named as the developer key.
    const forged = {
      target: 'prod',
      source: { kind: 'directory', path: dir },
      repository,
      digest,
      build: buildFacts({ sourceRepo: 'https://github.com/mallory/evil' }),
      policy: { sourceRepo: 'https://github.com/mallory/evil', builderIds: ['anything'], requireCommit: false },
      approval: { groups: [{ name: 'me', members: ['mallory'], required: 1 }], vetoOnReject: false, deadlineMs: 3_600_000, roster: {} },
      keys: {
        developer: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: PLATFORM_PASSWORD_ENV, publicKeyPem: '', fingerprint: '' },
        platform: { ref: path.join(env.keysDir, 'platform.key'), passwordEnv: PLATFORM_PASSWORD_ENV, publicKeyPem: '', fingerprint: '' },
      },
      releaseTag: 'prod',
      initiator: 'mallory',
    };
    const id = await startRaw('prod', digest, forged);
    await refusal(id, 'REQUEST_UNSIGNED');
    assert.equal(await env.store.getManifest('apps/hello', digest), undefined, 'nothing was built or pushed');
    await assertNoPlatformSignature(repository, digest);
  });

  it("search attributes a caller sets at start are replaced by the worker's: listings, rotation and revocation read the worker's plan", async () => {
    // What list shows, and how rotation and revocation find runs pinned to a key: all caller-writable at start.
    const fakeKey = 'f'.repeat(64);
    const forgedAttributes = (digest: string): SearchAttributePair[] => [
      { key: STATE_KEY, value: 'PROMOTED' },
      { key: TARGET_KEY, value: 'elsewhere' },
      { key: DIGEST_KEY, value: `sha256:${'0'.repeat(64)}` },
      { key: PLATFORM_KEY_KEY, value: fakeKey },
    ];
    const attributes = async (id: string) => {
      const sa = (await env.client.workflow.getHandle(id).describe()).typedSearchAttributes;
      return [sa.get(STATE_KEY), sa.get(TARGET_KEY), sa.get(DIGEST_KEY), sa.get(PLATFORM_KEY_KEY)];
    };

    // A genuine signed request, started with forged attributes: the run's first workflow task writes the plan's.
    const { dir, digest } = await variant('forged-attributes');
    const request = { _type: START_REQUEST_TYPE, target: 'prod', digest, artifact: { kind: 'directory', path: dir }, build: buildFacts(), initiator: 'ci', issuedAt: new Date().toISOString(), expiresAt: new Date(Date.now() + 600_000).toISOString(), nonce: newNonce() };
    const id = await startRaw('prod', digest, { request: await signStatement(request, await env.signer('ci')) }, forgedAttributes(digest));
    await waitForPromotion(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    const platformKey = keyFingerprint(await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8'));
    assert.deepEqual(await attributes(id), ['AWAITING_APPROVAL', 'prod', digest, platformKey]);
    assert.deepEqual((await runsInFlight(env.client, fakeKey)).promotions, [], 'no run is pinned to the forged key');
    assert.ok((await runsInFlight(env.client, platformKey)).promotions.some((p) => p.promotionId === id), 'the run is pinned to the plan\'s key');

    // A start the worker refuses: its state is the worker's REFUSED, and a revocation of the forged key lists nothing.
    const refused = await variant('forged-attributes-unsigned');
    const refusedId = await startRaw('prod', refused.digest, { request: { statement: '{}', signature: '' } }, forgedAttributes(refused.digest));
    await refusal(refusedId, 'REQUEST_INVALID');
    assert.equal((await attributes(refusedId))[0], 'REFUSED');
    assert.deepEqual((await runsSignedBy(env.client, fakeKey)).promotions, []);
    assert.deepEqual((await runsInFlight(env.client, fakeKey)).promotions, []);
  });

  it('a start request naming an initiator it is not signed by, or one the worker does not list, is refused', async () => {
    await writeKeyPair(env.keysDir, 'mallory', TEST_PASSWORD, { force: true });
    const { dir, digest } = await variant('impostor');
    const request = (initiator: string) => ({
      _type: START_REQUEST_TYPE,
      target: 'prod',
      digest,
      artifact: { kind: 'directory', path: dir },
      build: buildFacts(),
      initiator,
      issuedAt: new Date().toISOString(),
      expiresAt: new Date(Date.now() + 600_000).toISOString(),
      nonce: newNonce(),
    });
    const asCi = await startRaw('prod', digest, { request: await signStatement(request('ci'), await env.signer('mallory')) });
    const impostor = await refusal(asCi, 'REQUEST_BAD_SIGNATURE');
    assert.match(impostor.error!, /does not verify with ci's key in the worker's configuration/);
    const unknown = await startRaw('prod', digest, { request: await signStatement(request('mallory'), await env.signer('mallory')) });
    const stranger = await refusal(unknown, 'REQUEST_UNKNOWN_SIGNER');
    assert.match(stranger.error!, /mallory is not an initiator in the worker's configuration/);
    await assertNoPlatformSignature(env.target.repository, digest);
  });

  it('a start request for a target its initiator may not start is refused', async () => {
    await writeKeyPair(env.keysDir, 'scoped', TEST_PASSWORD, { force: true });
    env.config.initiators.scoped = { publicKey: path.join(env.keysDir, 'scoped.pub'), targets: ['prod'] };
    const other = env.targetWith({}, 'other');
    const { dir, digest } = await variant('scope');
    const started = await env.promote({ target: other, source: { directory: dir }, build: buildFacts(), initiator: 'scoped' });
    const done = await refusal(started.promotionId, 'REQUEST_OUT_OF_SCOPE');
    assert.match(done.error!, /scoped may start prod, not other/);
    await assertNoPlatformSignature(other.repository, digest);
  });

  it('an expired start request is refused, and a signed request starts one run only', async () => {
    const { dir } = await variant('stale');
    const expired = await env.promote({ source: { directory: dir }, build: buildFacts(), validityMs: 1 });
    await refusal(expired.promotionId, 'REQUEST_EXPIRED');

    const fresh = await variant('replay');
    const request = await signStatement(
      {
        _type: START_REQUEST_TYPE,
        target: 'prod',
        digest: fresh.digest,
        artifact: { kind: 'directory', path: fresh.dir },
        build: buildFacts(),
        deadlineMs: 1000,
        initiator: 'ci',
        issuedAt: new Date().toISOString(),
        expiresAt: new Date(Date.now() + 600_000).toISOString(),
        nonce: newNonce(),
      },
      await env.signer('ci'),
    );
    const first = await startRaw('prod', fresh.digest, { request });
    assert.equal((await waitForPromotion(env.client, first)).state, 'EXPIRED');
    const again = await startRaw('prod', fresh.digest, { request });
    const replayed = await refusal(again, 'REQUEST_REPLAYED');
    assert.match(replayed.error!, /already started run/);
    await assertNoPlatformSignature(env.target.repository, fresh.digest);
  });

  it('a veto stands: a new run needs a re-open by someone allowed; an approval from the vetoed run does not count; each run judges its own provenance', async () => {
    const target = env.targetWith({ approval: { approvers: ['alice', 'bob', 'carol'], required: 2, reopen: ['dave'] } }, 'vetoed');
    const { dir, digest } = await variant('veto');
    const id = promotionId('vetoed', digest);
    const start = (facts = buildFacts(), reopen?: Awaited<ReturnType<typeof signReopen>>) =>
      env.promote({ target, source: { directory: dir }, build: facts, ...(reopen ? { reopen } : {}) });

    await start();
    await waitForPromotion(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    const gate1 = await getApproval(env.client, id);
    const firstRun = gate1.subject.runId!;
    const { signDecision } = await import('../../src/approval/sign');
    const aliceInRun1 = await signDecision({ promotionId: id, runId: firstRun, digest, evidence: gate1.evidence?.digest, decision: 'approve', approver: 'alice' }, await env.signer('alice'));
    await decide(env.client, id, aliceInRun1);
    await env.decideAs(id, 'carol', 'reject', 'not this build');
    assert.equal((await waitForPromotion(env.client, id)).state, 'REJECTED');
    await assertNoPlatformSignature(target.repository, digest);

    // Starting again is not enough.
    await start();
    const stands = await refusal(id, 'REJECTED_BEFORE');
    assert.match(stands.error!, /a new run needs a signed re-open by one of dave/);
    // Refused starts do not launder the veto: it still stands after two of them.
    await start();
    await refusal(id, 'REJECTED_BEFORE');
    // Nor does a re-open by someone the target does not allow.
    await start(buildFacts(), await signReopen(env.client, id, { reopener: 'bob', reason: 'I say so', signer: await env.signer('bob') }));
    await refusal(id, 'REQUEST_OUT_OF_SCOPE');

    // dave re-opens, and the next run claims other build facts: its own provenance is judged, not the first run's.
    const reopenBy = async () => signReopen(env.client, id, { reopener: 'dave', reason: 'fixed upstream', signer: await env.signer('dave') });
    const byDave = await reopenBy();
    assert.equal(JSON.parse(byDave.statement).rejectedRunId, firstRun, 'the re-open names the vetoed run');
    await start(buildFacts({ sourceRepo: 'https://github.com/mallory/fork', builderId: 'https://example.com/rogue' }), byDave);
    const forked = await waitForPromotion(env.client, id);
    assert.equal(forked.state, 'REJECTED', forked.error);
    assert.deepEqual(forked.checks.filter((c) => !c.ok).map((c) => c.name).sort(), ['policy.builderId', 'policy.sourceRepo']);
    assert.equal(forked.reopenedBy?.reopener, 'dave');
    await assertNoPlatformSignature(target.repository, digest);

    // Fail closed, not for ever: re-opened again with the right facts, the run passes on its own provenance.
    await start(buildFacts(), await reopenBy());
    const third = await waitForPromotion(env.client, id, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(third.state, 'AWAITING_APPROVAL', third.error);
    assert.ok(third.notices?.some((n) => /older provenance attestation\(s\) on this digest were not judged/.test(n)), JSON.stringify(third.notices));
    await assert.rejects(decide(env.client, id, aliceInRun1), (e) => /not this run .*a vote counts in one run only/.test((e as Error).message));
    assert.deepEqual((await getApproval(env.client, id)).votes, [], 'the replayed approval was not recorded');
    await env.decideAs(id, 'alice', 'approve');
    await env.decideAs(id, 'bob', 'approve');
    const done = await waitForPromotion(env.client, id);
    assert.equal(done.state, 'PROMOTED', done.error);
  });

  it("an image outside the target's repository is refused, and so is a directory outside its sources (even through a symlink)", async () => {
    const { dir, digest } = await variant('elsewhere');
    const deps = { storeFor: () => env.store };
    await buildAndPush(deps, dir, { repository: `${env.stack.registry.address}/apps/elsewhere`, digest });
    const outside = await env.promote({ source: { image: `${env.stack.registry.address}/apps/elsewhere@${digest}` }, commit: COMMIT });
    const done = await refusal(outside.promotionId, 'IMAGE_OUTSIDE_TARGET');
    assert.match(done.error!, /apps\/elsewhere is not target prod's repository/);
    await assertNoPlatformSignature(`${env.stack.registry.address}/apps/elsewhere`, digest);

    const sources = path.join(env.dir, 'sources');
    await fs.mkdir(sources, { recursive: true });
    const narrow = env.targetWith({ sources: [sources] }, 'narrow');
    const keys = await env.promote({ target: narrow, source: { directory: env.keysDir }, build: buildFacts() });
    await refusal(keys.promotionId, 'SOURCE_NOT_ALLOWED');
    await fs.symlink(env.keysDir, path.join(sources, 'keys-link'));
    const linked = await env.promote({ target: narrow, source: { directory: path.join(sources, 'keys-link') }, build: buildFacts() });
    await refusal(linked.promotionId, 'SOURCE_NOT_ALLOWED');
  });

  /** Plays the developer's CI: builds, pushes, attests (with `facts`) and signs with the developer key. */
  async function publishFromCi(name: string, facts: ReturnType<typeof buildFacts>): Promise<string> {
    const { dir, digest } = await variant(name);
    const deps = { storeFor: () => env.store, env: { CI_KEY_PASSWORD: TEST_PASSWORD } };
    const location = { repository: env.target.repository, digest };
    await buildAndPush(deps, dir, location);
    const statements = await createAttestations(deps, dir, location, { ...facts, invocationId: `ci-${name}`, startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:01:00Z' });
    await developerSign(deps, location, { ref: path.join(env.keysDir, 'dev.key'), passwordEnv: 'CI_KEY_PASSWORD' }, [statements.provenanceDigest, statements.sbomDigest]);
    return `${location.repository}@${digest}`;
  }

  it('the commit author written in other case and with blanks is still the author, and may not approve', async () => {
    const reference = await publishFromCi('author', buildFacts({ commitAuthor: ' Alice@EXAMPLE.com ' }));
    const started = await env.promote({ source: { image: reference }, commit: COMMIT });
    const waiting = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    await assert.rejects(env.decideAs(started.promotionId, 'alice', 'approve'), (e) => /alice may not approve .*: authored the commit/.test((e as Error).message));
    await env.decideAs(started.promotionId, 'bob', 'reject', 'cleanup');
    await assertNoPlatformSignature(env.target.repository, started.digest);
  });

  it('a build of another branch fails a target that allows only main; a short commit fails a target that wants the full revision', async () => {
    const mainOnly = env.targetWith({ policy: { refs: ['refs/heads/main'] } }, 'main-only');
    const { dir, digest } = await variant('branch');
    const branch = await env.promote({ target: mainOnly, source: { directory: dir }, build: { ...buildFacts(), ref: 'refs/heads/feature-x' } });
    const done = await waitForPromotion(env.client, branch.promotionId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.deepEqual(done.checks.filter((c) => !c.ok).map((c) => c.name), ['policy.ref']);
    assert.match(done.error!, /refs\/heads\/feature-x/);
    await assertNoPlatformSignature(mainOnly.repository, digest);

    const reference = await publishFromCi('short-commit', buildFacts());
    const short = await env.promote({ source: { image: reference }, commit: COMMIT.slice(0, 7) });
    const rejected = await waitForPromotion(env.client, short.promotionId);
    assert.equal(rejected.state, 'REJECTED', rejected.error);
    assert.deepEqual(rejected.checks.filter((c) => !c.ok).map((c) => c.name), ['policy.commit']);
    await assertNoPlatformSignature(env.target.repository, short.digest);
  });

  it("a longer deadline than the target's is cut to the target's; one past any deadline's limit is refused before anything starts", async () => {
    const { dir } = await variant('deadline');
    // 200000000 days once started a run whose gate could then never be queried nor approved.
    await assert.rejects(
      env.promote({ source: { directory: dir }, build: buildFacts(), deadlineMs: 200_000_000 * 86_400_000 }),
      (e: unknown) => hasCode(e, 'BAD_INPUT') && /deadlineMs must be a whole number of milliseconds from 1000 to 7776000000 \(90 days\)/.test((e as Error).message),
    );
    const started = await env.promote({ source: { directory: dir }, build: buildFacts(), deadlineMs: 30 * 86_400_000 });
    const status = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    const view = await getApproval(env.client, started.promotionId);
    assert.ok(view.msLeft! <= 3_600_000, `the target's 1h deadline holds: ${view.msLeft} ms left`);
    assert.equal(status.state, 'AWAITING_APPROVAL');
    await env.decideAs(started.promotionId, 'bob', 'reject', 'cleanup');
    assert.equal((await getPromotionStatus(env.client, started.promotionId)).state !== 'PROMOTED', true);
  });
});
