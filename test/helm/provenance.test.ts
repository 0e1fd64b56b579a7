import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as openpgp from 'openpgp';
import { sha256Hex } from '../../src/oci/digest';
import { readChartArchive } from '../../src/helm/archive';
import { packageChart } from '../../src/helm/package';
import { generateSigningKey, readSigningKey } from '../../src/helm/pgp-key';
import { parseProvenance, provenanceBody, signChart } from '../../src/helm/provenance';
import { assertChartVerified, verifyChart, type ChartVerification } from '../../src/helm/verify';
import { DEMO_DIR, DEMO_FILE, TEST_KEY_PASSPHRASE, rejectsWithCode, vector, writeChart } from './helpers';

async function testKey() {
  return readSigningKey(await vector('test-key.asc'), TEST_KEY_PASSPHRASE, 'test key');
}

function failed(report: ChartVerification): string[] {
  return report.checks.filter((c) => !c.ok).map((c) => c.code!);
}

test('accepts the chart packaged and signed by the real helm package --sign', async () => {
  const report = await verifyChart({
    archive: await vector(DEMO_FILE),
    fileName: DEMO_FILE,
    provenance: await vector(`${DEMO_FILE}.prov`),
    keyring: await vector('keyring.gpg'),
  });
  assert.equal(report.ok, true, JSON.stringify(report.checks));
  assert.deepEqual(report.checks.map((c) => c.name), ['archive', 'file-name', 'signature', 'digest', 'metadata']);
  assert.match(report.signer!.userIds[0]!, /Countersign Helm Test/);
});

test("our provenance body for helm's archive is byte-identical to the body helm signed", async () => {
  const archive = await vector(DEMO_FILE);
  const theirs = await parseProvenance((await vector(`${DEMO_FILE}.prov`)).toString());
  const ours = provenanceBody(readChartArchive(archive).metadata, DEMO_FILE, sha256Hex(archive));
  assert.equal(ours, theirs.body);
  assert.equal(theirs.signature.hash, 'SHA512');
});

test("our .prov for helm's archive is helm's .prov byte for byte up to the signature, LF line ends and no final newline as helm writes", async () => {
  const helms = (await vector(`${DEMO_FILE}.prov`)).toString();
  const ours = await signChart(await vector(DEMO_FILE), { fileName: DEMO_FILE, key: await testKey() });
  const SIGNATURE = '-----BEGIN PGP SIGNATURE-----\n\n';
  const head = (prov: string) => prov.slice(0, prov.indexOf(SIGNATURE) + SIGNATURE.length);
  assert.ok(helms.includes(SIGNATURE) && ours.includes(SIGNATURE), 'both have an LF signature armor header');
  assert.equal(head(ours), head(helms));
  assert.equal(ours.includes('\r'), false, 'no CR anywhere');
  assert.equal(helms.includes('\r'), false);
  assert.equal(ours.endsWith('-----END PGP SIGNATURE-----'), true);
  assert.equal(helms.endsWith('-----END PGP SIGNATURE-----'), true);
  const report = await verifyChart({ archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: ours, keyring: await vector('keyring.gpg') });
  assert.equal(report.ok, true, JSON.stringify(report.checks));
});

test('signs our package with SHA512 clearsign; our verifier accepts it', async () => {
  const pkg = await packageChart(DEMO_DIR);
  const prov = await signChart(pkg.data, { fileName: pkg.fileName, key: await testKey() });
  assert.match(prov, /^-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n/);
  assert.match(prov, new RegExp(`files:\\n  ${DEMO_FILE}: sha256:${pkg.sha256}`));
  const report = await verifyChart({ archive: pkg.data, fileName: pkg.fileName, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.equal(report.ok, true, JSON.stringify(report.checks));
  assertChartVerified(report);
});

test('refuses a tampered archive: PROVENANCE_DIGEST_MISMATCH', async () => {
  const pkg = await packageChart(await writeChart({ 'values.yaml': 'a: 2\n' }));
  const prov = await signChart(pkg.data, { fileName: pkg.fileName, key: await testKey() });
  const other = await packageChart(await writeChart({ 'values.yaml': 'a: 3\n' }));
  const report = await verifyChart({ archive: other.data, fileName: other.fileName, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.deepEqual(failed(report), ['PROVENANCE_DIGEST_MISMATCH']);
  assert.throws(() => assertChartVerified(report), (err: Error & { code?: string }) => err.code === 'PROVENANCE_DIGEST_MISMATCH' && /changed after signing/.test(err.message));
});

test('refuses a tampered .prov body: PROVENANCE_SIGNATURE_INVALID', async () => {
  const prov = (await vector(`${DEMO_FILE}.prov`)).toString().replace('name: demo', 'name: evil');
  const report = await verifyChart({ archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.equal(failed(report)[0], 'PROVENANCE_SIGNATURE_INVALID');
  assert.match(report.checks.find((c) => !c.ok)!.message, /does not verify: .*\(the signed body was changed, or the signature is corrupt\)/);
  assert.ok(failed(report).includes('PROVENANCE_METADATA_MISMATCH'));
});

test('refuses a signature by a key that is not in the keyring: PROVENANCE_UNKNOWN_KEY', async () => {
  const other = await generateSigningKey({ name: 'Intruder', passphrase: 'x', rsaBits: 2048 });
  const key = await readSigningKey(Buffer.from(other.privateKeyArmored), 'x');
  const pkg = await packageChart(DEMO_DIR);
  const prov = await signChart(pkg.data, { fileName: pkg.fileName, key });
  const report = await verifyChart({ archive: pkg.data, fileName: pkg.fileName, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.deepEqual(failed(report), ['PROVENANCE_UNKNOWN_KEY']);
  assert.match(report.checks.find((c) => !c.ok)!.message, new RegExp(other.info.keyId));
});

test('refuses a future-dated signature: PROVENANCE_FUTURE_DATED', async () => {
  const pkg = await packageChart(DEMO_DIR);
  const text = provenanceBody(pkg.metadata, pkg.fileName, pkg.sha256);
  const future = new Date(Date.now() + 3600_000);
  const prov = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: await testKey(), date: future });
  const report = await verifyChart({ archive: pkg.data, fileName: pkg.fileName, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.deepEqual(failed(report), ['PROVENANCE_FUTURE_DATED']);
  assert.match(report.checks.find((c) => !c.ok)!.message, /the signature is dated .*, after now .*; Helm and gpg refuse it/);
  // and signChart refuses to make one
  await rejectsWithCode(() => signChart(pkg.data, { fileName: pkg.fileName, key: future as never, date: future }), 'BAD_INPUT', 'in the future');
});

test('refuses an ASCII-armored keyring (Helm reads binary only) unless asked to accept it', async () => {
  const input = { archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: await vector(`${DEMO_FILE}.prov`), keyring: await vector('keyring.asc') };
  await rejectsWithCode(() => verifyChart(input), 'KEYRING_ARMORED', 'gpg --dearmor');
  assert.equal((await verifyChart({ ...input, allowArmoredKeyring: true })).ok, true);
});

test('refuses a GnuPG keybox and garbage as keyrings: KEYRING_INVALID', async () => {
  const kbx = Buffer.alloc(32);
  kbx.write('KBXf', 8, 'latin1');
  const base = { archive: await vector(DEMO_FILE), fileName: DEMO_FILE, provenance: await vector(`${DEMO_FILE}.prov`) };
  await rejectsWithCode(() => verifyChart({ ...base, keyring: kbx }), 'KEYRING_INVALID', 'keybox');
  await rejectsWithCode(() => verifyChart({ ...base, keyring: Buffer.from('not a keyring') }), 'KEYRING_INVALID');
});

test('refuses a chart whose file name does not match its name and version: CHART_NAME_MISMATCH', async () => {
  const report = await verifyChart({
    archive: await vector(DEMO_FILE),
    fileName: 'demo-9.9.9.tgz',
    provenance: await vector(`${DEMO_FILE}.prov`),
    keyring: await vector('keyring.gpg'),
  });
  assert.deepEqual(failed(report), ['CHART_NAME_MISMATCH', 'PROVENANCE_DIGEST_MISMATCH']);
  const pkg = await packageChart(DEMO_DIR);
  await rejectsWithCode(() => signChart(pkg.data, { fileName: 'other-1.2.3.tgz', key: {} as never }), 'CHART_NAME_MISMATCH', 'whose file name is demo-1.2.3.tgz');
});

test('refuses a .prov that is not a clearsigned Helm provenance: PROVENANCE_INVALID', async () => {
  await rejectsWithCode(() => parseProvenance('hello'), 'PROVENANCE_INVALID', 'not an OpenPGP cleartext-signed message');
  const key = await testKey();
  const noSeparator = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: 'name: demo\n' }), signingKeys: key });
  await rejectsWithCode(() => parseProvenance(noSeparator), 'PROVENANCE_INVALID', '"..."');
  const noFiles = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text: 'name: demo\n\n...\nother: 1\n' }), signingKeys: key });
  await rejectsWithCode(() => parseProvenance(noFiles), 'PROVENANCE_INVALID', 'files:');
});

test('refuses an archive that is not a chart, inside verification: CHART_INVALID', async () => {
  const report = await verifyChart({ archive: Buffer.from('nope'), fileName: DEMO_FILE, provenance: await vector(`${DEMO_FILE}.prov`), keyring: await vector('keyring.gpg') });
  assert.deepEqual(failed(report), ['CHART_INVALID', 'PROVENANCE_DIGEST_MISMATCH']);
});

test('refuses a provenance signed with another hash than SHA512, or with two signatures: PROVENANCE_INVALID', async () => {
  const pkg = await packageChart(DEMO_DIR);
  const text = provenanceBody(pkg.metadata, pkg.fileName, pkg.sha256);
  const key = await testKey();
  const keyring = await vector('keyring.gpg');
  const sha256 = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: key, config: { preferredHashAlgorithm: openpgp.enums.hash.sha256 } });
  assert.match(sha256, /\nHash: SHA256\r?\n/);
  const report = await verifyChart({ archive: pkg.data, fileName: pkg.fileName, provenance: sha256, keyring });
  assert.deepEqual(failed(report), ['PROVENANCE_INVALID']);
  assert.match(report.checks.find((c) => !c.ok)!.message, /signature hash is SHA256, not SHA512/);

  const other = await generateSigningKey({ name: 'Second', passphrase: 'x', rsaBits: 2048 });
  const twice = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: [key, await readSigningKey(Buffer.from(other.privateKeyArmored), 'x')] });
  await rejectsWithCode(() => parseProvenance(twice), 'PROVENANCE_INVALID', 'expected one signature, found 2');
});

test('refuses a validly signed provenance that names another version: PROVENANCE_METADATA_MISMATCH alone', async () => {
  const pkg = await packageChart(DEMO_DIR);
  // Same file name and sha256, so only the signed metadata disagrees with the archive.
  const text = provenanceBody({ ...pkg.metadata, version: '9.9.9' }, pkg.fileName, pkg.sha256);
  const prov = await openpgp.sign({ message: await openpgp.createCleartextMessage({ text }), signingKeys: await testKey() });
  const report = await verifyChart({ archive: pkg.data, fileName: pkg.fileName, provenance: prov, keyring: await vector('keyring.gpg') });
  assert.deepEqual(failed(report), ['PROVENANCE_METADATA_MISMATCH']);
  assert.match(report.checks.find((c) => !c.ok)!.message, /the provenance describes demo 9\.9\.9, the archive holds demo 1\.2\.3/);
});
