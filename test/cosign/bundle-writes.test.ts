/**
 * A step's bundle writes as one batch, on olareg (a registry with the Referrers API, where one
 * listing is one request): the signature and the statements are looked for once before signing
 * and once under the lock, whatever their number, and pushed one at a time. The attack on the batch: another worker (its own
 * host name, so no lock in common) attaches one of the statements while this one signs; that
 * statement is not written twice, the others are.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { signAndAttestBundles, verifyImageBundles } from '../../src/cosign/bundle-images';
import { buildImageFromDirectory, type BuiltImage } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import type { Signer } from '../../src/keys/signer';
import { createStatement } from '../../src/provenance/statement';
import { olaregPath, startOlareg, type RunningOlareg } from '../../src/stack/olareg';
import { startHoldingProxy, type HoldingProxy } from '../support/holding-proxy';
import { FIXTURE_IMAGE_DIR, pushImageTo, useRegistryFixture } from '../support/registry-fixture';

describe('bundle writes of a step, as one batch', { skip: olaregPath() ? false : 'olareg not installed (bash scripts/toolchain.sh olareg)' }, () => {
  const fixture = useRegistryFixture({ name: 'bundle-writes', keys: ['developer'] });
  let olareg: RunningOlareg;
  let proxy: HoldingProxy;
  let image: BuiltImage;
  let repos = 0;
  before(async () => {
    olareg = await startOlareg();
    proxy = await startHoldingProxy(olareg.address);
    image = await buildImageFromDirectory(FIXTURE_IMAGE_DIR);
  });
  after(async () => {
    await proxy?.close();
    await olareg?.stop();
  });

  const statement = (repo: string, n: number) => createStatement(`${olareg.address}/${repo}`, image.digest, `https://example.com/predicate/${n}`, { n });

  test('a signature and three statements: two listings, four referrers, and nothing more on a second run', async () => {
    const repo = `apps/batch-${++repos}`;
    const store = new RegistryStore(proxy.address);
    await pushImageTo(store, repo, image);
    const { signer, publicKeyPem } = fixture.key('developer');
    const statements = [1, 2, 3].map((n) => statement(repo, n));
    proxy.requests.splice(0);
    const referrerPuts = () => proxy.requests.filter((r) => r.startsWith(`PUT /v2/${repo}/manifests/sha256:`)).map((r) => r.slice(r.lastIndexOf('/') + 1));
    // One push at a time: while the first statement's push is held in the proxy, the next is not
    // sent. Pushed at once, olareg keeps only one of two referrers of the same image (2026-11-27:
    // 29 of 40 listed), and platform verify then misses an attestation.
    let putsSeen = 0;
    const held = proxy.holdNext((method, url) => method === 'PUT' && url.startsWith(`/v2/${repo}/manifests/sha256:`) && ++putsSeen === 2);
    const writing = signAndAttestBundles(store, repo, image.digest, signer, true, statements);
    await held;
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(referrerPuts().length, 2, `nothing pushed beside the held push: ${proxy.requests.join('\n')}`);
    proxy.releaseHeld();
    const first = await writing;
    assert.deepEqual({ signatureAdded: first.signatureAdded, attested: first.attested }, { signatureAdded: true, attested: [true, true, true] });
    assert.equal(proxy.requests.filter((r) => r.startsWith(`GET /v2/${repo}/referrers/`)).length, 2, proxy.requests.join('\n'));
    assert.deepEqual(first.pushed, referrerPuts(), 'the referrers it pushed, signature first, in order');

    proxy.requests.splice(0);
    assert.deepEqual(await signAndAttestBundles(store, repo, image.digest, signer, true, statements), { signatureAdded: false, attested: [false, false, false], pushed: [] });
    assert.equal(proxy.requests.filter((r) => r.startsWith(`GET /v2/${repo}/referrers/`)).length, 1, 'all there: one look, nothing signed');
    const found = await verifyImageBundles(store, repo, image.digest, publicKeyPem, { fresh: true });
    assert.deepEqual({ signatures: found.signatures, attestations: found.attestations.map((a) => a.predicateType).sort() }, { signatures: 1, attestations: statements.map((s) => s.predicateType).sort() });
  });

  test('attack: another worker attaches one of the statements while this one signs; it is not written twice, the others are', async () => {
    const repo = `apps/batch-${++repos}`;
    const store = new RegistryStore(proxy.address);
    // The other worker reaches the registry under its own host name: no lock in common.
    const other = new RegistryStore(olareg.address);
    await pushImageTo(store, repo, image);
    const { signer, publicKeyPem } = fixture.key('developer');
    const statements = [1, 2].map((n) => statement(repo, n));
    let overtaken = false;
    const slowSigner: Signer = {
      keyRef: signer.keyRef,
      publicKeyPem: () => signer.publicKeyPem(),
      async sign(data) {
        if (!overtaken) {
          overtaken = true;
          assert.deepEqual((await signAndAttestBundles(other, repo, image.digest, signer, false, [statements[1]])).attested, [true]);
        }
        return signer.sign(data);
      },
    };
    const written = await signAndAttestBundles(store, repo, image.digest, slowSigner, true, statements);
    assert.deepEqual({ signatureAdded: written.signatureAdded, attested: written.attested, pushed: written.pushed.length }, { signatureAdded: true, attested: [true, false], pushed: 2 });
    const found = await verifyImageBundles(store, repo, image.digest, publicKeyPem, { fresh: true });
    assert.equal(found.signatures, 1);
    assert.deepEqual(found.attestations.map((a) => a.predicateType).sort(), statements.map((s) => s.predicateType).sort(), 'each statement once');
  });
});
