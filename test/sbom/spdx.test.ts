import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import Ajv from 'ajv';
import { hasCode } from '../../src/errors';
import { buildImageFromDirectory, type FileEntry } from '../../src/oci/build';
import { canonicalJson } from '../../src/oci/digest';
import { SPDX_PREDICATE_TYPE, createSpdxSbom, ociPurl, spdxFileId, spdxTimestamp } from '../../src/sbom/spdx';

const FIXTURE = path.resolve(__dirname, '..', 'fixtures', 'hello-image');
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const CREATED = '2024-01-02T03:04:05Z';
const SPDX_ID = /^SPDXRef-[A-Za-z0-9.-]+$/;

function file(p: string, content: string, mode = 0o644): FileEntry {
  const data = Buffer.from(content);
  return {
    path: p,
    sha256: createHash('sha256').update(data).digest('hex'),
    sha1: createHash('sha1').update(data).digest('hex'),
    size: data.length,
    mode,
  };
}

const FILES = [file('index.html', '<p>hi</p>'), file('app/run.sh', '#!/bin/sh\n', 0o755), file('weird name_ü/x+y.txt', 'z')];

test('predicate type is the one cosign uses for --type spdxjson', () => {
  assert.equal(SPDX_PREDICATE_TYPE, 'https://spdx.dev/Document');
});

test('document shape: SPDX 2.3 header, one image package, one entry per file, relationships', () => {
  const doc = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello:v1', imageDigest: DIGEST, files: FILES, created: CREATED });
  assert.equal(doc.spdxVersion, 'SPDX-2.3');
  assert.equal(doc.dataLicense, 'CC0-1.0');
  assert.equal(doc.SPDXID, 'SPDXRef-DOCUMENT');
  assert.equal(doc.name, `127.0.0.1:5000/apps/hello@${DIGEST}`);
  assert.equal(doc.documentNamespace, `https://countersign.invalid/spdx/127.0.0.1%3A5000/apps/hello/sha256-${'ab'.repeat(32)}`);
  assert.ok(!doc.documentNamespace.includes('#'));
  assert.deepEqual(doc.creationInfo, { created: CREATED, creators: ['Tool: countersign'] });

  assert.equal(doc.packages.length, 1);
  const pkg = doc.packages[0];
  assert.match(pkg.SPDXID, SPDX_ID);
  assert.equal(pkg.name, '127.0.0.1:5000/apps/hello');
  assert.equal(pkg.versionInfo, DIGEST);
  assert.equal(pkg.downloadLocation, 'NOASSERTION');
  assert.equal(pkg.filesAnalyzed, true);
  assert.equal(pkg.primaryPackagePurpose, 'CONTAINER');
  assert.deepEqual(pkg.checksums, [{ algorithm: 'SHA256', checksumValue: 'ab'.repeat(32) }]);
  assert.deepEqual(pkg.externalRefs, [
    {
      referenceCategory: 'PACKAGE-MANAGER',
      referenceType: 'purl',
      referenceLocator: `pkg:oci/hello@sha256%3A${'ab'.repeat(32)}?repository_url=127.0.0.1:5000/apps/hello&tag=v1`,
    },
  ]);
  // SPDX package verification code: sha1 over the sorted, concatenated file sha1s
  const expectedCode = createHash('sha1').update(FILES.map((f) => f.sha1!).sort().join('')).digest('hex');
  assert.deepEqual(pkg.packageVerificationCode, { packageVerificationCodeValue: expectedCode });

  assert.deepEqual(doc.files.map((f) => f.fileName), ['./app/run.sh', './index.html', './weird name_ü/x+y.txt']);
  const ids = doc.files.map((f) => f.SPDXID);
  for (const id of [doc.SPDXID, ...ids]) assert.match(id, SPDX_ID);
  assert.equal(new Set(ids).size, ids.length);
  const idx = doc.files.find((f) => f.fileName === './index.html')!;
  const src = FILES.find((f) => f.path === 'index.html')!;
  assert.deepEqual(idx.checksums, [
    { algorithm: 'SHA1', checksumValue: src.sha1 },
    { algorithm: 'SHA256', checksumValue: src.sha256 },
  ]);

  assert.deepEqual(doc.relationships, [
    { spdxElementId: 'SPDXRef-DOCUMENT', relationshipType: 'DESCRIBES', relatedSpdxElement: pkg.SPDXID },
    ...ids.map((id) => ({ spdxElementId: pkg.SPDXID, relationshipType: 'CONTAINS', relatedSpdxElement: id })),
  ]);
  // every referenced element exists
  const known = new Set([doc.SPDXID, pkg.SPDXID, ...ids]);
  for (const r of doc.relationships) assert.ok(known.has(r.spdxElementId) && known.has(r.relatedSpdxElement));
});

/** The schema published with SPDX 2.3 (test/vectors/spdx/README.md says where it comes from). */
const SPDX_SCHEMA = JSON.parse(readFileSync(path.resolve(__dirname, '..', 'vectors', 'spdx', 'spdx-schema-2.3.json'), 'utf8'));
const validateSpdx = new Ajv({ allErrors: true, strict: true }).compile(SPDX_SCHEMA);

function schemaErrors(doc: unknown): string[] {
  return validateSpdx(doc) ? [] : (validateSpdx.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params ? ` ${JSON.stringify(e.params)}` : ''}`);
}

test('the document validates against the published SPDX 2.3 JSON schema', () => {
  const doc = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello:v1', imageDigest: DIGEST, files: FILES, created: CREATED });
  assert.deepEqual(schemaErrors(doc), []);
  // What the specification asks beyond the schema's shapes.
  assert.match(doc.creationInfo.created, /^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$/);
  for (const f of doc.files) {
    for (const c of f.checksums) assert.match(c.checksumValue, /^[0-9a-f]+$/);
    assert.ok(f.checksums.some((c) => c.algorithm === 'SHA1'), 'SPDX 2.3 wants a SHA1 on every file');
    assert.ok(!f.fileName.startsWith('/'));
  }
});

test('the schema check is a real one: it names what a document lacks, adds or mistypes', () => {
  const doc = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello:v1', imageDigest: DIGEST, files: FILES, created: CREATED });
  const broken = JSON.parse(JSON.stringify(doc));
  delete broken.packages[0].downloadLocation;
  broken.files[0].sha256 = 'not an SPDX field';
  broken.packages[0].primaryPackagePurpose = 'SPACESHIP';
  broken.relationships[0].relationshipType = 'LIKES';
  const errors = schemaErrors(broken).join('\n');
  assert.match(errors, /\/packages\/0 must have required property 'downloadLocation'/);
  assert.match(errors, /\/files\/0 must NOT have additional properties .*"additionalProperty":"sha256"/);
  assert.match(errors, /\/packages\/0\/primaryPackagePurpose must be equal to one of the allowed values/);
  assert.match(errors, /\/relationships\/0\/relationshipType must be equal to one of the allowed values/);
});

test('created is stored as UTC whole seconds', () => {
  assert.equal(spdxTimestamp('2024-01-02T03:04:05Z'), '2024-01-02T03:04:05Z');
  assert.equal(spdxTimestamp('2024-01-02T03:04:05.987Z'), '2024-01-02T03:04:05Z');
  assert.equal(spdxTimestamp('2024-01-02T05:04:05+02:00'), '2024-01-02T03:04:05Z');
  const doc = createSpdxSbom({ imageName: 'alpine', imageDigest: DIGEST, files: FILES, created: '2024-01-02T03:04:05.5-01:00' });
  assert.equal(doc.creationInfo.created, '2024-01-02T04:04:05Z');
  assert.throws(() => spdxTimestamp('2024-01-02 03:04:05'), (e) => hasCode(e, 'BAD_INPUT'));
});

test('deterministic: same input, same bytes; file order in the input does not matter', () => {
  const a = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello', imageDigest: DIGEST, files: FILES, created: CREATED });
  const b = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello', imageDigest: DIGEST, files: [...FILES].reverse(), created: CREATED });
  assert.equal(canonicalJson(a), canonicalJson(b));
  const other = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello', imageDigest: `sha256:${'cd'.repeat(32)}`, files: FILES, created: CREATED });
  assert.notEqual(other.documentNamespace, a.documentNamespace);
});

test('toolName, no tag, and files without sha1', () => {
  const files = FILES.map(({ sha1: _sha1, ...rest }) => rest);
  const doc = createSpdxSbom({ imageName: 'alpine', imageDigest: DIGEST, files, created: CREATED, toolName: 'countersign-0.1.0' });
  assert.deepEqual(doc.creationInfo.creators, ['Tool: countersign-0.1.0']);
  assert.equal(doc.packages[0].name, 'docker.io/library/alpine');
  assert.equal(doc.packages[0].externalRefs[0].referenceLocator, `pkg:oci/alpine@sha256%3A${'ab'.repeat(32)}?repository_url=docker.io/library/alpine`);
  assert.equal(doc.packages[0].packageVerificationCode, undefined);
  assert.deepEqual(doc.files[0].checksums.map((c) => c.algorithm), ['SHA256']);
});

test('SPDX file ids are valid and distinct even for paths that sanitise alike', () => {
  const a = spdxFileId('a_b/c.txt');
  const b = spdxFileId('a-b/c.txt');
  assert.match(a, SPDX_ID);
  assert.match(b, SPDX_ID);
  assert.notEqual(a, b);
  assert.match(spdxFileId('ü/ß'), SPDX_ID);
  assert.match(spdxFileId('x'.repeat(500)), SPDX_ID);
  assert.equal(ociPurl('ghcr.io/o/app', DIGEST), `pkg:oci/app@sha256%3A${'ab'.repeat(32)}?repository_url=ghcr.io/o/app`);
});

test('SBOM for a built image lists exactly its files', async () => {
  const img = await buildImageFromDirectory(FIXTURE);
  const doc = createSpdxSbom({ imageName: '127.0.0.1:5000/apps/hello', imageDigest: img.digest, files: img.files, created: '1970-01-01T00:00:00Z' });
  assert.deepEqual(doc.files.map((f) => f.fileName), ['./bin/hello.sh', './data/greeting.txt', './index.html']);
  assert.equal(doc.packages[0].versionInfo, img.digest);
  assert.ok(doc.packages[0].packageVerificationCode);
  // JSON round trip keeps it intact (it is what gets attested)
  assert.deepEqual(JSON.parse(canonicalJson(doc)), doc);
});

test('bad input is refused with a code', () => {
  const ok = { imageName: '127.0.0.1:5000/apps/hello', imageDigest: DIGEST, files: FILES, created: CREATED };
  const cases: Array<[Record<string, unknown>, 'BAD_REFERENCE' | 'BAD_INPUT']> = [
    [{ imageDigest: 'sha256:abc' }, 'BAD_REFERENCE'],
    [{ imageDigest: `sha512:${'a'.repeat(128)}` }, 'BAD_REFERENCE'],
    [{ imageName: '127.0.0.1:5000/Apps/hello' }, 'BAD_REFERENCE'],
    [{ imageName: `127.0.0.1:5000/apps/hello@sha256:${'cd'.repeat(32)}` }, 'BAD_INPUT'],
    [{ created: 'now' }, 'BAD_INPUT'],
    [{ files: 'nope' }, 'BAD_INPUT'],
    [{ files: [{ ...FILES[0], sha256: 'XYZ' }] }, 'BAD_INPUT'],
    [{ files: [{ ...FILES[0], path: '/abs' }] }, 'BAD_INPUT'],
    [{ files: [FILES[0], FILES[0]] }, 'BAD_INPUT'],
    [{ files: [{ ...FILES[0], size: -1 }] }, 'BAD_INPUT'],
    [{ toolName: '' }, 'BAD_INPUT'],
  ];
  for (const [patch, code] of cases) {
    assert.throws(
      () => createSpdxSbom({ ...ok, ...patch } as Parameters<typeof createSpdxSbom>[0]),
      (e) => hasCode(e, code),
      JSON.stringify(patch),
    );
  }
  // the digest in imageName may repeat imageDigest
  assert.doesNotThrow(() => createSpdxSbom({ ...ok, imageName: `127.0.0.1:5000/apps/hello@${DIGEST}` }));
});
