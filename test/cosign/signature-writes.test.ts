/**
 * Writes to one cosign signature manifest from many writers at once, on a REAL registry
 * (distribution 2.8, which has no conditional write). Writers in one process are serialised per
 * manifest; a writer in "another process" is a second RegistryStore reaching the same registry
 * through test/support/holding-proxy.ts under another host name (so it shares no lock), and the
 * proxy lets the test order their requests exactly.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { attachAttestation, attachAttestations, verifyAttestations } from '../../src/cosign/attestations';
import { SIGNATURE_ANNOTATION, signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { appendSignatureLayer } from '../../src/cosign/signature-writes';
import { createSimpleSigningPayload } from '../../src/cosign/simple-signing';
import { cosignTag } from '../../src/cosign/tags';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import { createStatement } from '../../src/provenance/statement';
import type { HoldingProxy } from '../support/holding-proxy';
import { useRegistryFixture } from '../support/registry-fixture';
import { throwawaySigner } from '../support/throwaway-signer';

const fx = useRegistryFixture({ name: 'writes' });

async function layersAt(repo: string, tag: string): Promise<ImageManifest['layers']> {
  const stored = await fx.store.getManifest(repo, tag);
  return stored ? (JSON.parse(stored.data.toString('utf8')) as ImageManifest).layers : [];
}

/** Another worker: the same registry under another host name, with its requests under the test's control. */
async function anotherWorker(): Promise<{ proxy: HoldingProxy; store: RegistryStore }> {
  const proxy = await fx.proxy();
  return { proxy, store: new RegistryStore(proxy.address) };
}

describe('one signature manifest, many writers', () => {
  test('ten keys signing one image at once in one process: all ten signatures are kept', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const signers = Array.from({ length: 10 }, (_, i) => throwawaySigner(`key-${i}`));
    const results = await Promise.all(signers.map((s) => signImage(store, repo, image.digest, s)));
    assert.ok(results.every((r) => r.added), 'each reports its signature added');
    assert.equal((await layersAt(repo, cosignTag(image.digest, 'sig'))).length, 10);
    for (const s of signers) assert.equal((await verifyImageSignatures(store, repo, image.digest, s.publicKey)).valid, 1, `${s.keyRef} kept`);
  });

  test('one key signing one image five times at once in one process: exactly one signature', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const signer = throwawaySigner();
    const results = await Promise.all(Array.from({ length: 5 }, () => signImage(store, repo, image.digest, signer)));
    assert.equal(results.filter((r) => r.added).length, 1, 'one call reports it added the signature');
    assert.equal((await verifyImageSignatures(store, repo, image.digest, signer.publicKey)).valid, 1);
    assert.equal((await layersAt(repo, cosignTag(image.digest, 'sig'))).length, 1);
  });

  test('ten statements attested at once in one process: every attestation is kept', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const signer = throwawaySigner();
    const statements = Array.from({ length: 10 }, (_, i) => createStatement(repo, image.digest, 'https://example.com/predicate/v1', { n: i }));
    await Promise.all(statements.map((s) => attachAttestation(store, repo, image.digest, s, signer)));
    const found = (await verifyAttestations(store, repo, image.digest, signer.publicKey)).attestations.map((a) => (a.statement.predicate as { n: number }).n);
    assert.deepEqual(found.sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  test('statements attached together are one .att manifest write, each kept once; attaching them again writes nothing', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const signer = throwawaySigner();
    const { proxy, store: counted } = await anotherWorker();
    // Answers delayed by 1 ms are counted: the proxy's count of .att manifest writes.
    proxy.delayBy((method, url) => method === 'PUT' && /\/manifests\/sha256-[0-9a-f]{64}\.att$/.test(url), 1);
    const statements = [0, 1].map((n) => createStatement(repo, image.digest, `https://example.com/predicate/${n}`, { n }));
    assert.deepEqual(await attachAttestations(counted, repo, image.digest, statements, signer), [true, true]);
    assert.equal(proxy.faults.delayed, 1);
    assert.deepEqual(await attachAttestations(counted, repo, image.digest, statements, signer), [false, false]);
    assert.equal(proxy.faults.delayed, 1);
    const found = (await verifyAttestations(store, repo, image.digest, signer.publicKey)).attestations.map((a) => a.predicateType).sort();
    assert.deepEqual(found, ['https://example.com/predicate/0', 'https://example.com/predicate/1']);
  });

  test("a writer in another process overwrites an append after it was written: the append is noticed lost and made again", async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const tag = cosignTag(image.digest, 'sig');
    const manifestUrl = `/v2/${repo}/manifests/${tag}`;
    const [a, b] = [await anotherWorker(), await anotherWorker()];
    const [keyA, keyB] = [throwawaySigner('a'), throwawaySigner('b')];

    // A has read the (empty) manifest and is about to write [a]: its write is held.
    const aWriting = a.proxy.holdNext((method, url) => method === 'PUT' && url === manifestUrl);
    const aDone = signImage(a.store, repo, image.digest, keyA);
    await aWriting;
    // B writes [b]; when it reads back what it wrote, that read is held too.
    let bWrote = false;
    const bReadingBack = b.proxy.holdNext((method, url) => {
      if (method === 'PUT' && url === manifestUrl) bWrote = true;
      return bWrote && method === 'GET' && url === manifestUrl;
    });
    const bDone = signImage(b.store, repo, image.digest, keyB);
    await Promise.race([bReadingBack, bDone]);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, keyB.publicKey)).valid, 1, "B's signature was written");

    // A's stale write lands and replaces [b] with [a]; then B reads back.
    a.proxy.releaseHeld();
    assert.equal((await aDone).added, true);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, keyB.publicKey)).valid, 0, "A's stale write dropped B's signature");
    b.proxy.releaseHeld();
    assert.equal((await bDone).added, true);

    for (const key of [keyA, keyB]) assert.equal((await verifyImageSignatures(store, repo, image.digest, key.publicKey)).valid, 1, `${key.keyRef}'s signature is there`);
    assert.equal((await layersAt(repo, tag)).length, 2);
  });

  test("a signer whose signatures do not verify under its own public key (moto's KMS does this) gets one layer, not one per read-back", async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const [signing, claimed] = [throwawaySigner('signing'), throwawaySigner('claimed')];
    const broken = { ...signing, publicKeyPem: claimed.publicKeyPem };
    assert.equal((await signImage(store, repo, image.digest, broken)).added, true);
    assert.equal((await layersAt(repo, cosignTag(image.digest, 'sig'))).length, 1);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, claimed.publicKey)).valid, 0);
  });

  test('duplicates by one key that an earlier race left are reduced to the first; other keys stay', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    const tag = cosignTag(image.digest, 'sig');
    const [mine, other] = [throwawaySigner('mine'), throwawaySigner('other')];
    const payload = createSimpleSigningPayload(`${store.location}/${repo}`, image.digest);
    const layer = async (s: typeof mine) => ({ data: payload, mediaType: MEDIA_TYPE.cosignSimpleSigning, annotations: { [SIGNATURE_ANNOTATION]: (await s.sign(payload)).toString('base64') } });
    const first = await layer(mine);
    for (const l of [first, await layer(other), await layer(mine)]) await appendSignatureLayer(store, repo, tag, l);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, mine.publicKey)).valid, 2);

    assert.equal((await signImage(store, repo, image.digest, mine)).added, false);
    const layers = await layersAt(repo, tag);
    assert.deepEqual(layers.map((l) => l.annotations?.[SIGNATURE_ANNOTATION]), [first.annotations[SIGNATURE_ANNOTATION], layers[1].annotations?.[SIGNATURE_ANNOTATION]]);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, mine.publicKey)).valid, 1);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, other.publicKey)).valid, 1);
  });
});
