/**
 * Stock cosign v3.1.2 verifies an image signed through a KMS API server with nothing but the
 * public key PEM that GetPublicKey returned. local-kms honours MessageType DIGEST and passes;
 * moto 5.2.5 hashes the digest again, and cosign rejects what it signs (kept here as the proof of
 * why the KMS tests sign through local-kms).
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { SIGNATURE_ANNOTATION, signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { cosignTag } from '../../src/cosign/tags';
import { KmsSigner } from '../../src/keys/kms-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import { buildImageFromDirectory, type BuiltImage } from '../../src/oci/build';
import { RegistryStore } from '../../src/oci/registry';
import type { ImageManifest } from '../../src/oci/types';
import { startRegistry, type RunningRegistry } from '../../src/stack/registry';
import { locateTool } from '../../src/stack/tools';
import { createTestKey, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { motoPath, startMoto } from '../support/moto';
import { pushImageTo } from '../support/registry-fixture';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'hello-image');
const cosign = locateTool('cosign');
const missing = !cosign ? 'cosign not installed (npm run toolchain)' : !locateTool('docker-registry') ? 'docker-registry not installed' : undefined;

let tmp: string;
let registry: RunningRegistry;
let store: RegistryStore;
let image: BuiltImage;
let repoCounter = 0;
const servers: KmsTestServer[] = [];

const pushImage = (): Promise<string> => pushImageTo(store, `kms/hello-${++repoCounter}`, image);

function cosignVerify(pemFile: string, ref: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      cosign as string,
      ['verify', '--key', pemFile, '--insecure-ignore-tlog=true', '--allow-http-registry', ref],
      { env: { ...process.env, HOME: tmp }, timeout: 120_000 },
      (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code) || 1 : 0, stdout: String(stdout), stderr: String(stderr) }),
    ),
  );
}

before(async () => {
  if (missing) return;
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'countersign-kms-cosign-'));
  registry = await startRegistry({ rootDir: path.join(tmp, 'registry') });
  store = new RegistryStore(registry.address);
  image = await buildImageFromDirectory(FIXTURE);
});

after(async () => {
  for (const s of servers) await s.close();
  await registry?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('stock cosign verifies an image signed through KMS (local-kms) with the GetPublicKey PEM', async (t) => {
  if (missing) return t.skip(missing);
  if (!localKmsPath()) return t.skip('local-kms not installed (bash scripts/toolchain.sh local-kms)');
  const kms = await startLocalKms();
  servers.push(kms);
  const key = await createTestKey(kms, { alias: 'platform-cosign' });
  const signer = new KmsSigner(key.ref, { env: kms.env });
  const repo = await pushImage();

  const result = await signImage(store, repo, image.digest, signer);
  assert.equal(result.added, true);
  const pem = await signer.publicKeyPem();
  assert.equal(result.keyFingerprint, keyFingerprint(pem));
  assert.equal((await verifyImageSignatures(store, repo, image.digest, pem)).valid, 1, 'our verifier accepts it');
  assert.equal((await signImage(store, repo, image.digest, signer)).added, false, 'idempotent per (digest, key)');

  const pemFile = path.join(tmp, 'kms-platform.pub');
  fs.writeFileSync(pemFile, pem);
  const verified = await cosignVerify(pemFile, `${registry.address}/${repo}@${image.digest}`);
  assert.equal(verified.code, 0, verified.stderr);
  const payloads = JSON.parse(verified.stdout) as Array<{ critical: { image: { 'docker-manifest-digest': string } } }>;
  assert.deepEqual(payloads.map((p) => p.critical.image['docker-manifest-digest']), [image.digest]);
});

test('moto 5.2.5 ignores MessageType DIGEST: cosign rejects what it signs (why tests sign through local-kms)', async (t) => {
  if (missing) return t.skip(missing);
  if (!motoPath()) return t.skip('moto not installed (bash scripts/toolchain.sh moto)');
  const moto = await startMoto();
  servers.push(moto);
  const key = await createTestKey(moto);
  // Without the signer's own check, to let the bad signature reach the registry and cosign.
  const signer = new KmsSigner(key.ref, { env: moto.env, checkSignatures: false });
  const repo = await pushImage();
  await signImage(store, repo, image.digest, signer);
  const pem = await signer.publicKeyPem();
  const pemFile = path.join(tmp, 'moto.pub');
  fs.writeFileSync(pemFile, pem);

  const verified = await cosignVerify(pemFile, `${registry.address}/${repo}@${image.digest}`);
  assert.notEqual(verified.code, 0, 'cosign must reject the moto signature');
  assert.equal((await verifyImageSignatures(store, repo, image.digest, pem)).valid, 0);

  // What moto signed: sha256(sha256(payload)), i.e. it treated the digest as a RAW message.
  const stored = await store.getManifest(repo, cosignTag(image.digest, 'sig'));
  const layer = (JSON.parse(stored!.data.toString('utf8')) as ImageManifest).layers[0];
  const payload = await store.getBlob(repo, layer.digest);
  const signature = Buffer.from(layer.annotations![SIGNATURE_ANNOTATION], 'base64');
  const digest = crypto.createHash('sha256').update(payload).digest();
  assert.equal(crypto.verify('sha256', digest, { key: pem, dsaEncoding: 'der' }, signature), true);
});
