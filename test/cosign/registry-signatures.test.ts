/**
 * Signatures and attestations written through RegistryStore into a REAL registry (Debian's
 * docker-registry, distribution 2.8, started here on a free loopback port), and RegistryStore's
 * error mapping. Needs the toolchain (`npm run toolchain`); fails, not skips, without the registry.
 * When cosign is installed, stock `cosign verify` also checks what we wrote.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { attachAttestation, verifyAttestations } from '../../src/cosign/attestations';
import { SIGNATURE_ANNOTATION, signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { cosignTag } from '../../src/cosign/tags';
import { CountersignError, hasCode } from '../../src/errors';
import { keyFingerprint } from '../../src/keys/public-key';
import { signatureChecks } from '../../src/keys/verification-memo';
import { blobOf } from '../../src/oci/digest';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import { createStatement } from '../../src/provenance/statement';
import { freePort } from '../../src/stack/ports';
import { locateTool } from '../../src/stack/tools';
import { runCli } from '../support/cli';
import { useRegistryFixture } from '../support/registry-fixture';

const fx = useRegistryFixture({ name: 'regsig', keys: ['dev', 'platform'] });

async function manifestAt(repo: string, tag: string): Promise<ImageManifest> {
  const stored = await fx.store.getManifest(repo, tag);
  assert.ok(stored, `${repo}:${tag} exists`);
  return JSON.parse(stored.data.toString('utf8')) as ImageManifest;
}

describe('image signatures in a real registry', () => {
  test('signImage twice with the same key adds one layer only', async () => {
    const { store, image } = fx;
    const devKey = fx.key('dev').signer;
    const repo = await fx.pushImage();
    const first = await signImage(store, repo, image.digest, devKey);
    assert.deepEqual(first, { added: true, keyFingerprint: keyFingerprint(await devKey.publicKeyPem()) });
    const tag = cosignTag(image.digest, 'sig');
    const before = await store.getManifest(repo, tag);
    assert.ok(before);

    const second = await signImage(store, repo, image.digest, devKey);
    assert.equal(second.added, false);
    const afterwards = await store.getManifest(repo, tag);
    assert.equal(afterwards?.digest, before.digest, 'the .sig manifest was not rewritten');
    const manifest = await manifestAt(repo, tag);
    assert.equal(manifest.layers.length, 1);
    assert.equal(manifest.layers[0].mediaType, MEDIA_TYPE.cosignSimpleSigning);
    assert.deepEqual(await verifyImageSignatures(store, repo, image.digest, await devKey.publicKeyPem()), { valid: 1, problems: [], issues: [] });
    assert.deepEqual((await store.listTags(repo)).sort(), [tag]);
  });

  test('a second key appends a second layer and the first stays as it was', async () => {
    const { store, image } = fx;
    const [devKey, platformKey] = [fx.key('dev').signer, fx.key('platform').signer];
    const repo = await fx.pushImage();
    const tag = cosignTag(image.digest, 'sig');
    await signImage(store, repo, image.digest, devKey);
    const firstLayer = (await manifestAt(repo, tag)).layers[0];

    assert.equal((await signImage(store, repo, image.digest, platformKey)).added, true);
    const manifest = await manifestAt(repo, tag);
    assert.equal(manifest.layers.length, 2);
    assert.deepEqual(manifest.layers[0], firstLayer);
    assert.notEqual(manifest.layers[1].annotations?.[SIGNATURE_ANNOTATION], firstLayer.annotations?.[SIGNATURE_ANNOTATION]);

    // Each key finds its own signature and reports the other's as a problem.
    const dev = await verifyImageSignatures(store, repo, image.digest, await devKey.publicKeyPem());
    assert.equal(dev.valid, 1);
    assert.deepEqual(dev.problems.map((p) => p.slice(0, 15)), ['signature 2/2: ']);
    const platform = await verifyImageSignatures(store, repo, image.digest, await platformKey.publicKeyPem());
    assert.equal(platform.valid, 1);
    assert.deepEqual(platform.problems.map((p) => p.slice(0, 15)), ['signature 1/2: ']);

    // Both signatures survive re-signing with either key.
    assert.equal((await signImage(store, repo, image.digest, devKey)).added, false);
    assert.equal((await signImage(store, repo, image.digest, platformKey)).added, false);
    assert.equal((await manifestAt(repo, tag)).layers.length, 2);
  });

  test('attachAttestation is idempotent per (statement, key); other statements and keys append', async () => {
    const { store, image, registry } = fx;
    const [devKey, platformKey] = [fx.key('dev').signer, fx.key('platform').signer];
    const repo = await fx.pushImage();
    const tag = cosignTag(image.digest, 'att');
    const slsa = fx.provenance(repo);
    assert.deepEqual(await attachAttestation(store, repo, image.digest, slsa, devKey), { added: true });
    const once = await store.getManifest(repo, tag);
    assert.deepEqual(await attachAttestation(store, repo, image.digest, slsa, devKey), { added: false });
    // The same statement rebuilt from scratch (a retried activity) is still recognised.
    assert.deepEqual(await attachAttestation(store, repo, image.digest, fx.provenance(repo), devKey), { added: false });
    assert.equal((await store.getManifest(repo, tag))?.digest, once?.digest);

    const sbom = createStatement(`${registry.address}/${repo}`, image.digest, 'https://spdx.dev/Document', { spdxVersion: 'SPDX-2.3' });
    assert.deepEqual(await attachAttestation(store, repo, image.digest, sbom, devKey), { added: true });
    assert.deepEqual(await attachAttestation(store, repo, image.digest, fx.provenance(repo, { commit: 'a'.repeat(40) }), devKey), { added: true });
    assert.deepEqual(await attachAttestation(store, repo, image.digest, slsa, platformKey), { added: true });
    assert.deepEqual(await attachAttestation(store, repo, image.digest, sbom, devKey), { added: false });

    const manifest = await manifestAt(repo, tag);
    assert.deepEqual(
      manifest.layers.map((l) => [l.mediaType, l.annotations]),
      [
        [MEDIA_TYPE.dsseEnvelope, { [SIGNATURE_ANNOTATION]: '', predicateType: 'https://slsa.dev/provenance/v1' }],
        [MEDIA_TYPE.dsseEnvelope, { [SIGNATURE_ANNOTATION]: '', predicateType: 'https://spdx.dev/Document' }],
        [MEDIA_TYPE.dsseEnvelope, { [SIGNATURE_ANNOTATION]: '', predicateType: 'https://slsa.dev/provenance/v1' }],
        [MEDIA_TYPE.dsseEnvelope, { [SIGNATURE_ANNOTATION]: '', predicateType: 'https://slsa.dev/provenance/v1' }],
      ],
    );
    const dev = await verifyAttestations(store, repo, image.digest, await devKey.publicKeyPem());
    assert.equal(dev.attestations.length, 3);
    assert.deepEqual(dev.problems, ['attestation 4/4: not signed by the expected key']);
  });

  test('a layer checked once is not checked again; the same signature over other bytes, or under another key, is', async () => {
    const { store, image } = fx;
    const [devKey, platformKey] = [fx.key('dev').signer, fx.key('platform').signer];
    const [devPem, platformPem] = [await devKey.publicKeyPem(), await platformKey.publicKeyPem()];
    const repo = await fx.pushImage();
    const tag = cosignTag(image.digest, 'att');
    await attachAttestation(store, repo, image.digest, fx.provenance(repo), devKey);
    signatureChecks.clear();
    assert.equal((await verifyAttestations(store, repo, image.digest, devPem)).attestations.length, 1);
    assert.deepEqual(signatureChecks.counts, { hits: 0, misses: 1 });
    assert.equal((await verifyAttestations(store, repo, image.digest, devPem)).attestations.length, 1);
    assert.deepEqual(signatureChecks.counts, { hits: 1, misses: 1 }, 'the second read did not check the signature again');
    // Another key is asked on its own: the developer key's answer is not the platform key's.
    assert.deepEqual((await verifyAttestations(store, repo, image.digest, platformPem)).problems, ['attestation 1/1: not signed by the expected key']);
    assert.deepEqual(signatureChecks.counts, { hits: 1, misses: 2 });

    // Someone who can push rewrites the statement under the developer's signature (another commit).
    const manifest = await manifestAt(repo, tag);
    const envelope = JSON.parse((await store.getBlob(repo, manifest.layers[0].digest)).toString('utf8')) as { payload: string };
    const forged = fx.provenance(repo, { commit: 'f'.repeat(40) });
    const forgedLayer = Buffer.from(JSON.stringify({ ...envelope, payload: Buffer.from(JSON.stringify(forged)).toString('base64') }), 'utf8');
    const forgedBlob = blobOf(forgedLayer, MEDIA_TYPE.dsseEnvelope, manifest.layers[0].annotations);
    await store.putBlob(repo, forgedBlob);
    const rewritten = { ...manifest, layers: [forgedBlob.descriptor] };
    await store.putManifest(repo, tag, Buffer.from(JSON.stringify(rewritten)), MEDIA_TYPE.imageManifest);
    const afterForgery = await verifyAttestations(store, repo, image.digest, devPem);
    assert.deepEqual(afterForgery.attestations, []);
    assert.deepEqual(afterForgery.problems, ['attestation 1/1: not signed by the expected key']);
    assert.deepEqual(signatureChecks.counts, { hits: 1, misses: 3 }, 'the forged bytes were checked, not answered from the memo');
  });

  test('stock cosign verifies what we wrote (signature and SLSA attestation)', async (t) => {
    const { store, image, registry } = fx;
    const devKey = fx.key('dev').signer;
    const cosign = locateTool('cosign');
    if (!cosign) return t.skip('cosign not installed (npm run toolchain)');
    const repo = await fx.pushImage();
    await signImage(store, repo, image.digest, devKey);
    await attachAttestation(store, repo, image.digest, fx.provenance(repo), devKey);
    const ref = `${registry.address}/${repo}@${image.digest}`;
    const pub = fx.key('dev').publicKeyPath;
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
        execFile(cosign, args, { env: { ...process.env, HOME: fx.dir }, timeout: 120_000 }, (err, stdout, stderr) =>
          resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout: String(stdout), stderr: String(stderr) }),
        ),
      );
    const common = ['--key', pub, '--insecure-ignore-tlog=true', '--allow-http-registry'];
    const verify = await run(['verify', ...common, ref]);
    assert.equal(verify.code, 0, verify.stderr);
    const payloads = JSON.parse(verify.stdout) as Array<{ critical: { image: { 'docker-manifest-digest': string } } }>;
    assert.deepEqual(payloads.map((p) => p.critical.image['docker-manifest-digest']), [image.digest]);
    const attest = await run(['verify-attestation', ...common, '--type', 'slsaprovenance1', ref]);
    assert.equal(attest.code, 0, attest.stderr);
    // Another key is refused by cosign too.
    const wrong = await run(['verify', '--key', fx.key('platform').publicKeyPath, '--insecure-ignore-tlog=true', '--allow-http-registry', ref]);
    assert.notEqual(wrong.code, 0);
  });

  test('stock cosign signs an image with a key made by `countersign keys generate`, and we verify it', async (t) => {
    const { store, image, registry } = fx;
    const devKey = fx.key('dev').signer;
    const cosign = locateTool('cosign');
    if (!cosign) return t.skip('cosign not installed (npm run toolchain)');
    const dir = path.join(fx.dir, 'cli-keys');
    const made = await runCli(['keys', 'generate', '--output-dir', dir, '--prefix', 'team', '--json'], { COSIGN_PASSWORD: 'cli-made' });
    assert.equal(made.code, 0, made.stderr);
    const repo = await fx.pushImage();
    const ref = `${registry.address}/${repo}@${image.digest}`;
    const signed = await new Promise<{ code: number; stderr: string }>((resolve) =>
      execFile(
        cosign,
        ['sign', '--key', path.join(dir, 'team.key'), '--tlog-upload=false', '--new-bundle-format=false', '--use-signing-config=false', '--allow-http-registry', '--yes', ref],
        { env: { ...process.env, HOME: fx.dir, COSIGN_PASSWORD: 'cli-made' }, timeout: 120_000 },
        (err, _out, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stderr: String(stderr) }),
      ),
    );
    assert.equal(signed.code, 0, signed.stderr);
    const pub = fs.readFileSync(path.join(dir, 'team.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(store, repo, image.digest, pub)).valid, 1);
    assert.equal((await verifyImageSignatures(store, repo, image.digest, await devKey.publicKeyPem())).valid, 0, 'and not with another key');
  });
});

describe('RegistryStore errors', () => {
  test('unknown manifests, repositories and tags: undefined / []; unknown blob: BLOB_UNKNOWN', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    assert.equal(await store.getManifest(repo, 'no-such-tag'), undefined);
    assert.equal(await store.getManifest(repo, `sha256:${'0'.repeat(64)}`), undefined);
    assert.equal(await store.getManifest('no/such/repo', 'latest'), undefined);
    assert.deepEqual(await store.listTags('no/such/repo'), []);
    assert.equal(await store.hasBlob(repo, `sha256:${'0'.repeat(64)}`), false);
    await assert.rejects(store.getBlob(repo, `sha256:${'0'.repeat(64)}`), (e) => hasCode(e, 'BLOB_UNKNOWN'));
    // And a known one is served as stored.
    const stored = await store.getManifest(repo, image.digest);
    assert.deepEqual(stored, { data: image.manifest.data, mediaType: MEDIA_TYPE.imageManifest, digest: image.digest });
    assert.deepEqual(await store.getBlob(repo, image.config.descriptor.digest), image.config.data);
  });

  test('an unreachable registry (closed port) is REGISTRY_UNREACHABLE, and retryable', async () => {
    const { image } = fx;
    const port = await freePort();
    const dead = new RegistryStore(`127.0.0.1:${port}`, { timeoutMs: 5_000 });
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['getManifest', () => dead.getManifest('apps/hello', 'latest')],
      ['putManifest', () => dead.putManifest('apps/hello', 'latest', image.manifest.data, MEDIA_TYPE.imageManifest)],
      ['getBlob', () => dead.getBlob('apps/hello', image.config.descriptor.digest)],
      ['putBlob', () => dead.putBlob('apps/hello', image.config)],
      ['listTags', () => dead.listTags('apps/hello')],
      ['ping', () => dead.ping()],
    ];
    for (const [name, call] of calls) {
      await assert.rejects(
        call(),
        (e: unknown) =>
          hasCode(e, 'REGISTRY_UNREACHABLE') &&
          (e as CountersignError).retryable &&
          (e as Error).message.includes(`127.0.0.1:${port}`) &&
          /ECONNREFUSED/.test((e as Error).message),
        name,
      );
    }
  });

  test('a blob whose bytes do not match its digest is refused by the registry on push', async () => {
    const { store } = fx;
    const repo = await fx.pushImage();
    const data = Buffer.from('countersign: these bytes do not hash to the claimed digest');
    const claimed = `sha256:${crypto.createHash('sha256').update('something else').digest('hex')}`;
    await assert.rejects(
      store.putBlob(repo, { data, descriptor: { mediaType: 'application/octet-stream', digest: claimed, size: data.length } }),
      (e: unknown) => hasCode(e, 'REGISTRY_REJECTED') && /HTTP 400/.test((e as Error).message),
    );
    assert.equal(await store.hasBlob(repo, claimed), false);
  });

  test('a manifest pushed under a digest it does not have is refused', async () => {
    const { store, image } = fx;
    const repo = await fx.pushImage();
    await assert.rejects(
      store.putManifest(repo, `sha256:${'1'.repeat(64)}`, image.manifest.data, MEDIA_TYPE.imageManifest),
      (e: unknown) => hasCode(e, 'REGISTRY_REJECTED') && /HTTP 400.*DIGEST_INVALID/.test((e as Error).message),
    );
    assert.equal(await store.getManifest(repo, `sha256:${'1'.repeat(64)}`), undefined);
  });

  test('bytes corrupted inside the registry are caught: DIGEST_MISMATCH for blobs and manifests by digest', async () => {
    const { store, image, registry } = fx;
    const repo = await fx.pushImage();
    // distribution keeps every blob (manifests too) at blobs/sha256/<2>/<hex>/data; flip one byte in place.
    const corrupt = (digest: string, from: string, to: string) => {
      const hex = digest.slice('sha256:'.length);
      const file = path.join(registry.rootDir, 'data', 'docker', 'registry', 'v2', 'blobs', 'sha256', hex.slice(0, 2), hex, 'data');
      const text = fs.readFileSync(file, 'latin1');
      assert.ok(text.includes(from), `${from} in ${file}`);
      fs.writeFileSync(file, Buffer.from(text.replace(from, to), 'latin1'));
    };
    // Blobs are shared by every repository of this registry, so each corruption is undone after.
    const configDigest = image.config.descriptor.digest;
    corrupt(configDigest, '"amd64"', '"arm64"');
    await assert.rejects(
      store.getBlob(repo, configDigest),
      (e: unknown) => hasCode(e, 'DIGEST_MISMATCH') && (e as Error).message.includes(`expected ${configDigest}`),
    );
    corrupt(configDigest, '"arm64"', '"amd64"');
    assert.deepEqual(await store.getBlob(repo, configDigest), image.config.data, 'restored');

    const layerDigest = image.layers[0].descriptor.digest;
    const wrongLayer = layerDigest.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    corrupt(image.digest, layerDigest, wrongLayer);
    await assert.rejects(
      store.getManifest(repo, image.digest),
      (e: unknown) => hasCode(e, 'DIGEST_MISMATCH') && (e as Error).message.includes(image.digest),
    );
    corrupt(image.digest, wrongLayer, layerDigest);
    assert.equal((await store.getManifest(repo, image.digest))?.digest, image.digest, 'restored');
  });
});
