import { attachAttestation, verifyAttestations } from '../cosign/attestations';
import { signImage, verifyImageSignatures } from '../cosign/image-signatures';
import { CountersignError } from '../errors';
import { loadSigner } from '../keys/load-signer';
import { keyFingerprint } from '../keys/public-key';
import { buildImageFromDirectory } from '../oci/build';
import { jsonBlob } from '../oci/digest';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import { evaluatePolicy } from '../policy/policy';
import type { BuildFacts } from '../provenance/slsa';
import { SLSA_PROVENANCE_V1, createProvenance, readBuildFacts } from '../provenance/slsa';
import type { Statement } from '../provenance/statement';
import { createStatement, parseStatement } from '../provenance/statement';
import { SPDX_PREDICATE_TYPE, createSpdxSbom } from '../sbom/spdx';

/** What each step needs from the outside world; the worker wires the real ones. */
export interface StepDeps {
  storeFor(registryHost: string): Store;
  env?: NodeJS.ProcessEnv;
  now?: () => Date;
}

export interface ImageLocation {
  /** "registry-host/path" */
  repository: string;
  digest: string;
}

export function splitRepository(repository: string): { host: string; path: string } {
  const slash = repository.indexOf('/');
  if (slash <= 0) throw new CountersignError('BAD_REFERENCE', `repository "${repository}" has no registry host`);
  return { host: repository.slice(0, slash), path: repository.slice(slash + 1) };
}

function open(deps: StepDeps, repository: string): { store: Store; path: string } {
  const { host, path } = splitRepository(repository);
  return { store: deps.storeFor(host), path };
}

export interface BuildOutcome {
  digest: string;
  startedOn: string;
  finishedOn: string;
  files: number;
}

/** Builds the directory deterministically and pushes it by digest; the digest must be the one promised. */
export async function buildAndPush(deps: StepDeps, directory: string, target: ImageLocation): Promise<BuildOutcome> {
  const now = deps.now ?? (() => new Date());
  const startedOn = now().toISOString();
  const image = await buildImageFromDirectory(directory);
  if (image.digest !== target.digest) {
    throw new CountersignError(
      'BUILD_NOT_REPRODUCIBLE',
      `building ${directory} gave ${image.digest}, but the promotion was started for ${target.digest} (the directory changed?)`,
    );
  }
  const { store, path } = open(deps, target.repository);
  for (const blob of [...image.layers, image.config]) await store.putBlob(path, blob);
  await store.putManifest(path, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  return { digest: image.digest, startedOn, finishedOn: now().toISOString(), files: image.files.length };
}

/** Confirms an existing image is in the registry under its digest (a tag is never consulted). */
export async function resolveImage(deps: StepDeps, target: ImageLocation): Promise<void> {
  const { store, path } = open(deps, target.repository);
  const manifest = await store.getManifest(path, target.digest);
  if (!manifest) {
    throw new CountersignError('MANIFEST_UNKNOWN', `image ${target.repository}@${target.digest} does not exist in ${store.location}`);
  }
}

export interface AttestOutcome {
  provenanceDigest: string;
  sbomDigest: string;
}

/**
 * Writes the SLSA provenance and the SBOM as in-toto statements into the repository as plain
 * blobs, so the signing step can fetch them by digest without carrying them through history.
 */
export async function createAttestations(
  deps: StepDeps,
  directory: string,
  target: ImageLocation,
  facts: BuildFacts & { invocationId: string; startedOn: string; finishedOn: string },
): Promise<AttestOutcome> {
  const image = await buildImageFromDirectory(directory);
  if (image.digest !== target.digest) {
    throw new CountersignError('BUILD_NOT_REPRODUCIBLE', `${directory} now builds to ${image.digest}, not ${target.digest}`);
  }
  const provenance = createProvenance({ ...facts, subjectName: target.repository, digest: target.digest });
  const sbom = createStatement(
    target.repository,
    target.digest,
    SPDX_PREDICATE_TYPE,
    createSpdxSbom({ imageName: target.repository, imageDigest: target.digest, files: image.files, created: facts.finishedOn }),
  );
  const { store, path } = open(deps, target.repository);
  const provenanceBlob = jsonBlob(provenance, MEDIA_TYPE.emptyJson);
  const sbomBlob = jsonBlob(sbom, MEDIA_TYPE.emptyJson);
  await store.putBlob(path, provenanceBlob);
  await store.putBlob(path, sbomBlob);
  return { provenanceDigest: provenanceBlob.descriptor.digest, sbomDigest: sbomBlob.descriptor.digest };
}

/** Signs the image and attaches both statements, signed, with the developer key. Idempotent. */
export async function developerSign(
  deps: StepDeps,
  target: ImageLocation,
  key: { ref: string; passwordEnv: string },
  statements: string[],
): Promise<{ signatureAdded: boolean; attestationsAdded: number }> {
  const signer = await loadSigner(key.ref, key.passwordEnv, deps.env);
  const { store, path } = open(deps, target.repository);
  const loaded: Statement[] = [];
  for (const digest of statements) loaded.push(parseStatement(await store.getBlob(path, digest)));
  const signature = await signImage(store, path, target.digest, signer);
  let attestationsAdded = 0;
  for (const statement of loaded) {
    if ((await attachAttestation(store, path, target.digest, statement, signer)).added) attestationsAdded += 1;
  }
  return { signatureAdded: signature.added, attestationsAdded };
}

export interface Check {
  name: string;
  ok: boolean;
  message: string;
}

export interface VerificationReport {
  ok: boolean;
  checks: Check[];
}

/**
 * The platform's gate: the developer signature, the attestations (signed, for this digest, of the
 * expected types) and the target policy over the provenance. Every check runs and is reported.
 */
export async function verifyForPlatform(
  deps: StepDeps,
  target: ImageLocation,
  developerPublicKeyPem: string,
  policy: Parameters<typeof evaluatePolicy>[0],
  requestedCommit: string | undefined,
): Promise<VerificationReport> {
  const { store, path } = open(deps, target.repository);
  const fingerprint = keyFingerprint(developerPublicKeyPem).slice(0, 16);
  const [signatures, attestations] = await Promise.all([
    verifyImageSignatures(store, path, target.digest, developerPublicKeyPem),
    verifyAttestations(store, path, target.digest, developerPublicKeyPem),
  ]);
  const checks: Check[] = [];
  checks.push({
    name: 'developerSignature',
    ok: signatures.valid > 0,
    message:
      signatures.valid > 0
        ? `${signatures.valid} signature(s) by developer key ${fingerprint} over ${target.digest}`
        : `no valid signature by developer key ${fingerprint}: ${signatures.problems.join('; ')}`,
  });
  const provenance = attestations.attestations.find((a) => a.predicateType === SLSA_PROVENANCE_V1);
  const sbom = attestations.attestations.find((a) => a.predicateType === SPDX_PREDICATE_TYPE);
  const attestationProblems = attestations.problems.length > 0 ? ` (${attestations.problems.join('; ')})` : '';
  checks.push({
    name: 'provenanceAttestation',
    ok: provenance !== undefined,
    message: provenance
      ? `SLSA v1 provenance signed by ${fingerprint} for ${target.digest}`
      : `no SLSA v1 provenance signed by developer key ${fingerprint} for ${target.digest}${attestationProblems}`,
  });
  checks.push({
    name: 'sbomAttestation',
    ok: sbom !== undefined,
    message: sbom ? `SPDX SBOM signed by ${fingerprint}` : `no SPDX SBOM signed by developer key ${fingerprint}${attestationProblems}`,
  });
  if (provenance) {
    try {
      const facts = readBuildFacts(provenance.statement.predicate);
      for (const c of evaluatePolicy(policy, facts, requestedCommit)) checks.push({ name: `policy.${c.name}`, ok: c.ok, message: c.message });
    } catch (err) {
      checks.push({ name: 'policy', ok: false, message: (err as Error).message });
    }
  }
  return { ok: checks.every((c) => c.ok), checks };
}

/**
 * Opens each signing key the promotion will need and checks it is the key pinned at start, so
 * a missing file, a wrong passphrase or a swapped key stops the run before anything is signed.
 */
export async function checkSigningKeys(
  deps: StepDeps,
  keys: Array<{ role: string; ref: string; passwordEnv: string; fingerprint: string }>,
): Promise<{ checked: string[] }> {
  const checked: string[] = [];
  for (const key of keys) {
    const signer = await loadSigner(key.ref, key.passwordEnv, deps.env);
    const actual = keyFingerprint(await signer.publicKeyPem());
    if (actual !== key.fingerprint) {
      throw new CountersignError(
        'KEY_INVALID',
        `${key.role} key ${key.ref} has fingerprint ${actual.slice(0, 16)}, but the target's public key is ${key.fingerprint.slice(0, 16)}`,
      );
    }
    checked.push(`${key.role} ${actual.slice(0, 16)}`);
  }
  return { checked };
}

/** The production signature: platform key, by digest, at most once per (digest, key). */
export async function productionSign(
  deps: StepDeps,
  target: ImageLocation,
  key: { ref: string; passwordEnv: string; fingerprint: string },
): Promise<{ added: boolean; keyFingerprint: string }> {
  const signer = await loadSigner(key.ref, key.passwordEnv, deps.env);
  const actual = keyFingerprint(await signer.publicKeyPem());
  if (actual !== key.fingerprint) {
    throw new CountersignError('KEY_INVALID', `platform key ${key.ref} has fingerprint ${actual}, but the promotion pinned ${key.fingerprint}`);
  }
  const { store, path } = open(deps, target.repository);
  return signImage(store, path, target.digest, signer);
}

/** Points the release tag at the promoted digest (by copying the manifest bytes, never by re-resolving a tag). */
export async function release(deps: StepDeps, target: ImageLocation, tag: string): Promise<{ reference: string }> {
  const { store, path } = open(deps, target.repository);
  const manifest = await store.getManifest(path, target.digest);
  if (!manifest) throw new CountersignError('MANIFEST_UNKNOWN', `image ${target.repository}@${target.digest} vanished before release`);
  await store.putManifest(path, tag, manifest.data, manifest.mediaType);
  return { reference: `${target.repository}:${tag}@${target.digest}` };
}
