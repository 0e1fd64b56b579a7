/**
 * countersign against what the real cosign v3.1.2 wrote (test/vectors/cosign-image, made by its
 * generate.ts): no cosign binary and no registry here, the committed bytes are loaded into an
 * in-memory Store exactly as the registry held them.
 */
import assert from 'node:assert/strict';
import * as crypto from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { before, describe, test } from 'node:test';
import { attachAttestation, verifyAttestations } from '../../src/cosign/attestations';
import { SIGNATURE_ANNOTATION, signImage, verifyImageSignatures } from '../../src/cosign/image-signatures';
import { appendSignatureLayer } from '../../src/cosign/signature-manifest';
import { createSimpleSigningPayload, parseSimpleSigningPayload } from '../../src/cosign/simple-signing';
import { cosignTag } from '../../src/cosign/tags';
import { IN_TOTO_PAYLOAD_TYPE, parseEnvelope, signEnvelope, verifyEnvelope } from '../../src/dsse/envelope';
import { hasCode } from '../../src/errors';
import { FileSigner } from '../../src/keys/file-signer';
import { keyFingerprint } from '../../src/keys/public-key';
import type { Signer } from '../../src/keys/signer';
import { MEDIA_TYPE, type ImageManifest } from '../../src/oci/types';
import type { TargetPolicy } from '../../src/policy/policy';
import { verifyForPlatform, type StepDeps } from '../../src/promotion/steps';
import { SLSA_PROVENANCE_V1, readBuildFacts } from '../../src/provenance/slsa';
import { createStatement, STATEMENT_TYPE_V1 } from '../../src/provenance/statement';
import { SPDX_PREDICATE_TYPE } from '../../src/sbom/spdx';
import { MemoryStore, sha256Digest } from '../support/memory-store';
import { throwawaySigner } from '../support/throwaway-signer';

const DIR = path.join(__dirname, '..', 'vectors', 'cosign-image');
const KEY_FILE = path.join(__dirname, '..', 'vectors', 'cosign-keys', 'cosign.key');
const PASSWORD = 'countersign-test';

interface Vector {
  cosignVersion: string;
  registry: string;
  repository: string;
  dockerReference: string;
  imageDigest: string;
  signatures: { tag: string; manifestDigest: string; layers: string[] };
  attestations: { tag: string; manifestDigest: string; layers: string[]; predicateTypes: string[] };
  files: Record<string, { digest: string; mediaType: string; size: number }>;
}

const file = (name: string): Buffer => readFileSync(path.join(DIR, name));
const json = <T = any>(name: string): T => JSON.parse(file(name).toString('utf8')) as T;
const vector = json<Vector>('vector.json');
const COSIGN_PUB = file('cosign.pub').toString('utf8');
const REPO = vector.repository;
const DIGEST = vector.imageDigest;
const OTHER_DIGEST = `sha256:${'ab'.repeat(32)}`;
const SIG_TAG = cosignTag(DIGEST, 'sig');
const ATT_TAG = cosignTag(DIGEST, 'att');

const FACTS = {
  sourceRepo: 'https://github.com/acme/hello',
  commit: '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e',
  buildCommand: 'countersign build examples/hello',
  builderId: 'https://countersign.dev/builders/local@v1',
};
const POLICY: TargetPolicy = {
  sourceRepo: FACTS.sourceRepo,
  builderIds: [FACTS.builderId],
  buildCommand: FACTS.buildCommand,
  requireCommit: true,
};

/** A store holding the image manifest, cosign's .sig and .att manifests and all their blobs. */
async function loadVectors(): Promise<MemoryStore> {
  const store = new MemoryStore(vector.registry);
  for (const name of ['sig-config.json', 'sig-payload.json', 'att-config.json', ...vector.attestations.layers]) {
    await store.putRaw(REPO, file(name));
  }
  await store.tagRaw(REPO, DIGEST, file('image-manifest.json'), vector.files['image-manifest.json'].mediaType);
  await store.tagRaw(REPO, SIG_TAG, file('sig-manifest.json'), MEDIA_TYPE.imageManifest);
  await store.tagRaw(REPO, ATT_TAG, file('att-manifest.json'), MEDIA_TYPE.imageManifest);
  return store;
}

function otherKeyPem(): string {
  const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return publicKey.export({ format: 'pem', type: 'spki' }).toString();
}

/** Rewrites the manifest under `tag` (via `edit`) and stores it under `newTag` (default: same tag). */
async function editManifest(store: MemoryStore, tag: string, edit: (m: ImageManifest) => void, newTag = tag): Promise<void> {
  const stored = await store.getManifest(REPO, tag);
  assert.ok(stored, `${tag} exists`);
  const manifest = JSON.parse(stored.data.toString('utf8')) as ImageManifest;
  edit(manifest);
  await store.tagRaw(REPO, newTag, JSON.stringify(manifest), MEDIA_TYPE.imageManifest);
}

function deps(store: MemoryStore): StepDeps {
  return { storeFor: () => store };
}
const target = (digest = DIGEST) => ({ repository: `${vector.registry}/${REPO}`, digest });

let cosignSigner: Signer;
before(async () => {
  cosignSigner = await FileSigner.load(KEY_FILE, PASSWORD);
});

describe('the committed cosign vectors', () => {
  test('are what vector.json says (digests, sizes, tags, cosign version)', () => {
    assert.equal(vector.cosignVersion, 'v3.1.2');
    for (const [name, meta] of Object.entries(vector.files)) {
      const data = file(name);
      assert.equal(sha256Digest(data), meta.digest, `${name} digest`);
      assert.equal(data.length, meta.size, `${name} size`);
    }
    assert.equal(vector.files['image-manifest.json'].digest, DIGEST);
    assert.equal(vector.signatures.tag, SIG_TAG, 'cosign used the legacy sha256-<hex>.sig tag');
    assert.equal(vector.attestations.tag, ATT_TAG);
    assert.equal(vector.files['sig-manifest.json'].digest, vector.signatures.manifestDigest);
    assert.equal(vector.files['att-manifest.json'].digest, vector.attestations.manifestDigest);
    assert.equal(keyFingerprint(COSIGN_PUB), keyFingerprint(readFileSync(path.join(DIR, '..', 'cosign-keys', 'cosign.pub'), 'utf8')));
  });

  test('cosign .sig manifest: OCI manifest, one simple-signing layer with the signature annotation', () => {
    const m = json<ImageManifest>('sig-manifest.json');
    assert.equal(m.mediaType, MEDIA_TYPE.imageManifest);
    assert.equal(m.config.mediaType, MEDIA_TYPE.imageConfig);
    assert.equal(m.config.digest, vector.files['sig-config.json'].digest);
    assert.equal(m.layers.length, 1);
    assert.equal(m.layers[0].mediaType, MEDIA_TYPE.cosignSimpleSigning);
    assert.equal(m.layers[0].digest, vector.files['sig-payload.json'].digest);
    assert.match(m.layers[0].annotations?.[SIGNATURE_ANNOTATION] ?? '', /^[A-Za-z0-9+/]+={0,2}$/);
    assert.deepEqual(Object.keys(m.layers[0].annotations ?? {}), [SIGNATURE_ANNOTATION]);
  });

  test('cosign .att manifest: DSSE layers, empty signature annotation, predicateType annotation', () => {
    const m = json<ImageManifest>('att-manifest.json');
    assert.deepEqual(
      m.layers.map((l) => [l.mediaType, l.annotations]),
      vector.attestations.predicateTypes.map((t) => [MEDIA_TYPE.dsseEnvelope, { [SIGNATURE_ANNOTATION]: '', predicateType: t }]),
    );
    const envelope = json('att-slsa-envelope.json');
    // cosign writes no keyid at all; our parser must accept that.
    assert.deepEqual(Object.keys(envelope), ['payload', 'payloadType', 'signatures']);
    assert.deepEqual(Object.keys(envelope.signatures[0]), ['sig']);
    const parsed = parseEnvelope(file('att-slsa-envelope.json'));
    assert.equal(parsed.payloadType, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(parsed.signatures[0].keyid, '');
    assert.equal(verifyEnvelope(parsed, COSIGN_PUB), true);
  });
});

describe('verifyImageSignatures on cosign signatures', () => {
  test("accepts cosign's signature with cosign's key", async () => {
    const store = await loadVectors();
    const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.deepEqual(report, { valid: 1, problems: [], issues: [] });
  });

  test('refuses it with another key, saying why', async () => {
    const store = await loadVectors();
    const report = await verifyImageSignatures(store, REPO, DIGEST, otherKeyPem());
    assert.equal(report.valid, 0);
    assert.equal(report.problems.length, 1);
    assert.match(report.problems[0], /^signature 1\/1: signature does not verify with the expected key/);
  });

  test('finds nothing for another digest', async () => {
    const store = await loadVectors();
    const report = await verifyImageSignatures(store, REPO, OTHER_DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 0);
    assert.deepEqual(report.problems, [`no signatures stored at ${vector.registry}/${REPO}:${cosignTag(OTHER_DIGEST, 'sig')}`]);
  });

  test("refuses cosign's signature copied to another digest's .sig tag (it names the signed digest)", async () => {
    const store = await loadVectors();
    await store.tagRaw(REPO, cosignTag(OTHER_DIGEST, 'sig'), file('sig-manifest.json'), MEDIA_TYPE.imageManifest);
    const report = await verifyImageSignatures(store, REPO, OTHER_DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 0);
    assert.deepEqual(report.problems, [`signature 1/1: signature was made for ${DIGEST}, not ${OTHER_DIGEST}`]);
  });

  test('refuses the signature when the payload bytes are edited', async () => {
    const store = await loadVectors();
    const edits: Array<(s: string) => string> = [
      (s) => s.replace(vector.dockerReference, 'evil.example/apps/hello'),
      (s) => s.replace(DIGEST, OTHER_DIGEST),
      (s) => s.replace('"optional":null', '"optional":{}'),
      (s) => `${s}\n`,
    ];
    for (const edit of edits) {
      const original = file('sig-payload.json').toString('utf8');
      const edited = edit(original);
      assert.notEqual(edited, original);
      const digest = await store.putRaw(REPO, edited);
      await editManifest(store, SIG_TAG, (m) => {
        m.layers[0].digest = digest;
        m.layers[0].size = Buffer.byteLength(edited);
      });
      const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
      assert.equal(report.valid, 0, `edited payload ${edited}`);
      assert.match(report.problems[0], /signature does not verify with the expected key \(other key, or payload changed after signing\)/);
      await store.tagRaw(REPO, SIG_TAG, file('sig-manifest.json'), MEDIA_TYPE.imageManifest);
    }
  });

  test('truncated, non-base64 and empty signature annotations are problems, not crashes', async () => {
    const original = json<ImageManifest>('sig-manifest.json').layers[0].annotations![SIGNATURE_ANNOTATION];
    const truncated = /signature does not verify: not a whole DER ECDSA signature \(truncated\?\)/;
    const cases: Array<[string, string, RegExp]> = [
      [original.slice(0, 40), 'BAD_SIGNATURE_ENCODING', truncated],
      [original.replace(/=+$/, '').slice(0, -1), 'BAD_SIGNATURE_ENCODING', truncated],
      ['not base64 at all!', 'BAD_SIGNATURE_ENCODING', /signature is not base64/],
      [`${original.slice(0, 10)}*${original.slice(11)}`, 'BAD_SIGNATURE_ENCODING', /signature is not base64/],
      ['', 'UNSIGNED', /no signature annotation/],
    ];
    for (const [signature, code, expected] of cases) {
      const store = await loadVectors();
      await editManifest(store, SIG_TAG, (m) => {
        m.layers[0].annotations = { [SIGNATURE_ANNOTATION]: signature };
      });
      const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
      assert.equal(report.valid, 0, `annotation ${JSON.stringify(signature)}`);
      assert.equal(report.problems.length, 1);
      assert.match(report.problems[0], expected);
      assert.equal(report.issues[0].code, code, `annotation ${JSON.stringify(signature)}: ${report.problems[0]}`);
    }
    // No annotation at all.
    const store = await loadVectors();
    await editManifest(store, SIG_TAG, (m) => {
      delete m.layers[0].annotations;
    });
    assert.match((await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB)).problems[0], /no signature annotation/);
  });

  test('a .sig manifest with no layers is a problem', async () => {
    const store = await loadVectors();
    await editManifest(store, SIG_TAG, (m) => {
      m.layers = [];
    });
    const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 0);
    assert.deepEqual(report.problems, [`SIGNATURE_INVALID: ${vector.registry}/${REPO}:${SIG_TAG} is a signature manifest with no layers`]);
  });

  test('a .sig layer whose blob is missing fails closed (BLOB_UNKNOWN), never counts as valid', async () => {
    const store = await loadVectors();
    const missing = `sha256:${'cd'.repeat(32)}`;
    await editManifest(store, SIG_TAG, (m) => {
      m.layers.push({ ...m.layers[0], digest: missing });
    });
    await assert.rejects(verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB), (e) => hasCode(e, 'BLOB_UNKNOWN'));
  });

  test('a layer of the wrong media type is refused even with a good signature', async () => {
    const store = await loadVectors();
    await editManifest(store, SIG_TAG, (m) => {
      m.layers[0].mediaType = 'application/json';
    });
    const report = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(report.valid, 0);
    assert.match(report.problems[0], /layer media type application\/json is not a simple-signing payload/);
  });

  test('signImage with the same key as cosign adds nothing; another key appends and keeps cosign\'s layer', async () => {
    const store = await loadVectors();
    const same = await signImage(store, REPO, DIGEST, cosignSigner);
    assert.deepEqual(same, { added: false, keyFingerprint: keyFingerprint(COSIGN_PUB) });
    assert.deepEqual((await store.getManifest(REPO, SIG_TAG))!.data, file('sig-manifest.json'), 'manifest untouched');

    const other = throwawaySigner('test-other');
    assert.equal((await signImage(store, REPO, DIGEST, other)).added, true);
    const manifest = JSON.parse((await store.getManifest(REPO, SIG_TAG))!.data.toString('utf8')) as ImageManifest;
    assert.equal(manifest.layers.length, 2);
    assert.deepEqual(manifest.layers[0], json<ImageManifest>('sig-manifest.json').layers[0], "cosign's layer kept as it was");
    const after = await verifyImageSignatures(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(after.valid, 1);
    assert.deepEqual(after.problems, ['signature 2/2: signature does not verify with the expected key (other key, or payload changed after signing)']);
    assert.deepEqual(after.issues.map((i) => i.code), ['WRONG_KEY']);
    assert.equal((await verifyImageSignatures(store, REPO, DIGEST, await other.publicKeyPem())).valid, 1);
  });
});

describe('our simple-signing payload and signature manifest against cosign', () => {
  test('payload: byte-identical to cosign for the same reference and digest', () => {
    const cosignPayload = file('sig-payload.json');
    const ours = createSimpleSigningPayload(vector.dockerReference, DIGEST);
    assert.equal(ours.toString('utf8'), cosignPayload.toString('utf8'));
    // Same keys in the same order at every level.
    const keys = (v: unknown): unknown =>
      v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => [k, keys(x)]) : typeof v;
    assert.deepEqual(keys(JSON.parse(ours.toString())), keys(JSON.parse(cosignPayload.toString())));
    const parsed = parseSimpleSigningPayload(cosignPayload);
    assert.equal(parsed.critical.image['docker-manifest-digest'], DIGEST);
    assert.equal(parsed.critical.identity['docker-reference'], vector.dockerReference);
    assert.equal(parsed.optional, null);
  });

  test('signature manifest: our config is byte-identical to cosign\'s, the manifest equal as JSON', async () => {
    const store = new MemoryStore(vector.registry);
    const cosignManifest = json<ImageManifest>('sig-manifest.json');
    await appendSignatureLayer(store, REPO, SIG_TAG, {
      data: file('sig-payload.json'),
      mediaType: MEDIA_TYPE.cosignSimpleSigning,
      annotations: cosignManifest.layers[0].annotations!,
    });
    const ours = JSON.parse((await store.getManifest(REPO, SIG_TAG))!.data.toString('utf8')) as ImageManifest;
    assert.deepEqual(ours, cosignManifest);
    assert.deepEqual(await store.getBlob(REPO, ours.config.digest), file('sig-config.json'));
  });
});

describe('verifyAttestations on cosign attestations', () => {
  test("accepts both of cosign's attestations and reads the build facts out of the provenance", async () => {
    const store = await loadVectors();
    const report = await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB);
    assert.deepEqual(report.problems, []);
    assert.deepEqual(report.attestations.map((a) => a.predicateType), [SLSA_PROVENANCE_V1, SPDX_PREDICATE_TYPE]);
    const provenance = report.attestations[0].statement;
    // cosign v3.1.2 still writes in-toto Statement v0.1 for legacy attestations.
    assert.equal(provenance._type, 'https://in-toto.io/Statement/v0.1');
    assert.deepEqual(provenance.subject, [{ name: vector.dockerReference, digest: { sha256: DIGEST.slice(7) } }]);
    assert.deepEqual(provenance.predicate, json('slsa-predicate.json'));
    const facts = readBuildFacts(provenance.predicate);
    assert.deepEqual(Object.fromEntries(Object.keys(FACTS).map((k) => [k, facts[k as keyof typeof FACTS]])), FACTS);
    assert.throws(() => readBuildFacts(report.attestations[1].statement.predicate), (e) => hasCode(e, 'ATTESTATION_INVALID'));
  });

  test('with another key: every layer is a problem', async () => {
    const store = await loadVectors();
    const report = await verifyAttestations(store, REPO, DIGEST, otherKeyPem());
    assert.deepEqual(report.attestations, []);
    assert.deepEqual(report.problems, ['attestation 1/2: not signed by the expected key', 'attestation 2/2: not signed by the expected key']);
  });

  test('an envelope with no signatures is refused', async () => {
    const store = await loadVectors();
    const envelope = json('att-slsa-envelope.json');
    envelope.signatures = [];
    const digest = await store.putRaw(REPO, JSON.stringify(envelope));
    await editManifest(store, ATT_TAG, (m) => {
      m.layers[0].digest = digest;
      m.layers[0].size = Buffer.byteLength(JSON.stringify(envelope));
    });
    const report = await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB);
    assert.deepEqual(report.attestations.map((a) => a.predicateType), [SPDX_PREDICATE_TYPE]);
    assert.deepEqual(report.problems, ['attestation 1/2: DSSE envelope: no signatures (attestation is not signed)']);
  });

  test('an envelope whose payload was edited is refused', async () => {
    const store = await loadVectors();
    const envelope = json('att-slsa-envelope.json');
    const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8'));
    statement.predicate.runDetails.builder.id = 'https://evil.example/builder';
    envelope.payload = Buffer.from(JSON.stringify(statement)).toString('base64');
    const digest = await store.putRaw(REPO, JSON.stringify(envelope));
    await editManifest(store, ATT_TAG, (m) => {
      m.layers[0].digest = digest;
      m.layers[0].size = Buffer.byteLength(JSON.stringify(envelope));
    });
    const report = await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB);
    assert.deepEqual(report.problems, ['attestation 1/2: not signed by the expected key']);
  });

  test("cosign's attestations copied to another digest's .att tag: subject mismatch", async () => {
    const store = await loadVectors();
    await store.tagRaw(REPO, cosignTag(OTHER_DIGEST, 'att'), file('att-manifest.json'), MEDIA_TYPE.imageManifest);
    const report = await verifyAttestations(store, REPO, OTHER_DIGEST, COSIGN_PUB);
    assert.deepEqual(report.attestations, []);
    assert.deepEqual(report.problems, [
      `attestation 1/2: subject is ${DIGEST}, not ${OTHER_DIGEST}`,
      `attestation 2/2: subject is ${DIGEST}, not ${OTHER_DIGEST}`,
    ]);
  });

  test('an attestation signed by the right key whose subject is another digest is refused', async () => {
    const store = await loadVectors();
    const statement = createStatement(vector.dockerReference, OTHER_DIGEST, SLSA_PROVENANCE_V1, json('slsa-predicate.json'));
    await attachAttestation(store, REPO, DIGEST, statement, cosignSigner);
    const report = await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB);
    assert.equal(report.attestations.length, 2, "cosign's two still verify");
    assert.deepEqual(report.problems, [`attestation 3/3: subject is ${OTHER_DIGEST}, not ${DIGEST}`]);
  });

  test('a layer whose predicateType annotation disagrees with the signed statement is refused', async () => {
    const store = await loadVectors();
    await editManifest(store, ATT_TAG, (m) => {
      m.layers[0].annotations!.predicateType = SPDX_PREDICATE_TYPE;
    });
    const report = await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB);
    assert.deepEqual(report.attestations.map((a) => a.predicateType), [SPDX_PREDICATE_TYPE]);
    assert.deepEqual(report.problems, [
      `attestation 1/2: annotated predicate type ${SPDX_PREDICATE_TYPE} differs from the signed ${SLSA_PROVENANCE_V1}`,
    ]);
  });

  test('attachAttestation of the statement cosign already attested (same key) adds nothing', async () => {
    const store = await loadVectors();
    const [provenance] = (await verifyAttestations(store, REPO, DIGEST, COSIGN_PUB)).attestations;
    assert.deepEqual(await attachAttestation(store, REPO, DIGEST, provenance.statement, cosignSigner), { added: false });
    assert.deepEqual((await store.getManifest(REPO, ATT_TAG))!.data, file('att-manifest.json'));
  });
});

describe('verifyForPlatform over cosign-made signature and attestations', () => {
  test('passes every check with the full commit, or an abbreviated one where the policy allows it', async () => {
    const store = await loadVectors();
    for (const [policy, commit] of [
      [POLICY, FACTS.commit],
      [{ ...POLICY, commitPrefix: true }, FACTS.commit.slice(0, 7)],
    ] as const) {
      const report = await verifyForPlatform(deps(store), target(), COSIGN_PUB, policy, commit);
      assert.deepEqual(
        report.checks.map((c) => [c.name, c.ok]),
        [
          ['developerSignature', true],
          ['provenanceAttestation', true],
          ['sbomAttestation', true],
          ['policy.sourceRepo', true],
          ['policy.builderId', true],
          ['policy.buildCommand', true],
          ['policy.commit', true],
        ],
      );
      assert.equal(report.ok, true);
    }
  });

  test('another developer key fails signature and attestations', async () => {
    const store = await loadVectors();
    const report = await verifyForPlatform(deps(store), target(), otherKeyPem(), POLICY, FACTS.commit);
    assert.equal(report.ok, false);
    const byName = Object.fromEntries(report.checks.map((c) => [c.name, c]));
    assert.equal(byName.developerSignature.ok, false);
    assert.match(byName.developerSignature.message, /signature does not verify with the expected key/);
    assert.equal(byName.provenanceAttestation.ok, false);
    assert.equal(byName.sbomAttestation.ok, false);
    assert.equal(byName['policy.sourceRepo'], undefined, 'no policy checks without provenance');
  });

  test('another digest: nothing verifies', async () => {
    const store = await loadVectors();
    const report = await verifyForPlatform(deps(store), target(OTHER_DIGEST), COSIGN_PUB, POLICY, FACTS.commit);
    assert.equal(report.ok, false);
    assert.deepEqual(report.checks.map((c) => c.ok), [false, false, false]);
  });

  test('provenance of the wrong predicate type (signed by the right key, right subject) does not count', async () => {
    const store = new MemoryStore(vector.registry);
    await store.tagRaw(REPO, SIG_TAG, file('sig-manifest.json'), MEDIA_TYPE.imageManifest);
    await store.putRaw(REPO, file('sig-payload.json'));
    await store.putRaw(REPO, file('sig-config.json'));
    // Only the SBOM from cosign, plus the SLSA predicate under the v0.2 predicate type.
    const statement = createStatement(vector.dockerReference, DIGEST, 'https://slsa.dev/provenance/v0.2', json('slsa-predicate.json'));
    assert.equal(statement._type, STATEMENT_TYPE_V1);
    const envelope = await signEnvelope(Buffer.from(JSON.stringify(statement)), IN_TOTO_PAYLOAD_TYPE, cosignSigner);
    for (const [data, predicateType] of [
      [Buffer.from(JSON.stringify(envelope)), statement.predicateType],
      [file('att-spdx-envelope.json'), SPDX_PREDICATE_TYPE],
    ] as const) {
      await appendSignatureLayer(store, REPO, ATT_TAG, {
        data,
        mediaType: MEDIA_TYPE.dsseEnvelope,
        annotations: { [SIGNATURE_ANNOTATION]: '', predicateType },
      });
    }
    const report = await verifyForPlatform(deps(store), target(), COSIGN_PUB, POLICY, FACTS.commit);
    assert.equal(report.ok, false);
    assert.deepEqual(report.checks.map((c) => [c.name, c.ok]), [
      ['developerSignature', true],
      ['provenanceAttestation', false],
      ['sbomAttestation', true],
    ]);
    assert.match(report.checks[1].message, /^no https:\/\/slsa.dev\/provenance\/v1 attestation signed by developer key [0-9a-f]{16} for sha256:/);
    assert.equal(report.checks[1].code, 'WRONG_TYPE');
  });

  test('policy mismatches are reported as expected versus attested', async () => {
    const store = await loadVectors();
    const policy: TargetPolicy = {
      ...POLICY,
      sourceRepo: 'https://github.com/acme/other',
      builderIds: ['https://x/b'],
      buildCommand: 'make release',
      refs: ['refs/heads/main'],
    };
    const report = await verifyForPlatform(deps(store), target(), COSIGN_PUB, policy, 'deadbeef'.repeat(5));
    assert.equal(report.ok, false);
    const failed = report.checks.filter((c) => !c.ok);
    assert.deepEqual(
      failed.map((c) => c.message),
      [
        `source repo expected https://github.com/acme/other, attested ${FACTS.sourceRepo}`,
        `builder id expected one of [https://x/b], attested ${FACTS.builderId}`,
        `build command expected "make release", attested "${FACTS.buildCommand}"`,
        `commit expected ${'deadbeef'.repeat(5)}, attested ${FACTS.commit}`,
        // The vector's provenance names no ref: a policy on refs fails closed.
        'ref expected one of [refs/heads/main], attested (none)',
      ],
    );
    assert.deepEqual(new Set(failed.map((c) => c.code)), new Set(['POLICY_MISMATCH']));
  });
});
