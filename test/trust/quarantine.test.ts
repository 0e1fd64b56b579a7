/**
 * Quarantine on real registries: distribution 2.8 (Debian's docker-registry), which cannot delete
 * a tag, gets the release tag pointed at a quarantine notice naming the digest and why; olareg (OCI
 * 1.1, deletes enabled) removes the tag. Either way the tag no longer gives the image, the image
 * stays by digest, and a second run changes nothing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { RegistryStore } from '../../src/oci/registry';
import { noticeFor, quarantineRelease, QUARANTINE_ANNOTATIONS } from '../../src/trust/quarantine';
import { olaregPath, startOlareg, type RunningOlareg } from '../../src/stack/olareg';
import { pushImageTo, useRegistryFixture } from '../support/registry-fixture';

const WHY = { reason: 'signed by a leaked key', campaignId: 'key-campaign-platform-cosign-2026-01-01-0123456789abcdef', keyId: 'cosign-2026-01-01-0123456789abcdef' };

describe('quarantine of a release tag', () => {
  const fx = useRegistryFixture({ name: 'quarantine' });
  /** The fixture image in `repo`, tagged `tag`; its digest. */
  async function pushHello(store: RegistryStore, repo: string, tag: string): Promise<string> {
    await pushImageTo(store, repo, fx.image, tag);
    return fx.image.digest;
  }

  it('distribution 2.8 cannot delete a tag: the tag names a notice saying which digest, which campaign and why; the image stays by digest', async () => {
    const { registry } = fx;
    const store = new RegistryStore(registry.address);
    const digest = await pushHello(store, 'apps/q', 'prod');
    assert.equal(await store.deleteTag('apps/q', 'nothing-here-yet'), false, 'distribution 2.8 deletes no tags');
    const done = await quarantineRelease(store, 'apps/q', 'prod', digest, WHY);
    assert.deepEqual(done, { tag: 'notice', reference: `${registry.address}/apps/q:prod` });
    const tagged = await store.getManifest('apps/q', 'prod');
    assert.notEqual(tagged?.digest, digest);
    assert.equal(noticeFor(tagged!.data), digest);
    const annotations = (JSON.parse(tagged!.data.toString('utf8')) as { annotations: Record<string, string> }).annotations;
    assert.equal(annotations[QUARANTINE_ANNOTATIONS.reason], WHY.reason);
    assert.equal(annotations[QUARANTINE_ANNOTATIONS.campaign], WHY.campaignId);
    assert.ok(await store.getManifest('apps/q', digest), 'the image itself stays, by digest');
    assert.deepEqual(await quarantineRelease(store, 'apps/q', 'prod', digest, WHY), { tag: 'notice', reference: `${registry.address}/apps/q:prod` }, 'again: nothing changes');
    assert.equal(await store.getManifest('apps/q', 'prod').then((m) => m?.digest), tagged!.digest);
  });

  it('a tag that names another image is left alone, and a missing tag is reported as such', async () => {
    const { registry } = fx;
    const store = new RegistryStore(registry.address);
    const digest = await pushHello(store, 'apps/other', 'prod');
    const elsewhere = `sha256:${'1'.repeat(64)}`;
    assert.equal((await quarantineRelease(store, 'apps/other', 'prod', elsewhere, WHY)).tag, 'elsewhere');
    assert.equal((await store.getManifest('apps/other', 'prod'))?.digest, digest);
    assert.equal((await quarantineRelease(store, 'apps/other', 'no-such-tag', digest, WHY)).tag, 'absent');
  });

  it('an OCI 1.1 registry that deletes tags (olareg) loses the tag; the image stays by digest', { skip: olaregPath() ? false : 'olareg not installed (bash scripts/toolchain.sh olareg)' }, async () => {
    let olareg: RunningOlareg | undefined;
    try {
      olareg = await startOlareg();
      const store = new RegistryStore(olareg.address);
      const digest = await pushHello(store, 'apps/q', 'prod');
      assert.deepEqual(await quarantineRelease(store, 'apps/q', 'prod', digest, WHY), { tag: 'deleted', reference: `${olareg.address}/apps/q:prod` });
      assert.equal(await store.getManifest('apps/q', 'prod'), undefined);
      assert.ok(!(await store.listTags('apps/q')).includes('prod'));
      assert.ok(await store.getManifest('apps/q', digest));
      assert.equal((await quarantineRelease(store, 'apps/q', 'prod', digest, WHY)).tag, 'absent', 'again: nothing to do');
    } finally {
      await olareg?.stop();
    }
  });
});
