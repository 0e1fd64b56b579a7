import { DEFAULT_SIGNATURE_FORMAT, writesBundle, writesLegacy, type SignatureFormat } from '../cosign/formats';
import { verifyAttestations } from '../cosign/attestations';
import { signAndAttestBundles, verifyImageBundles } from '../cosign/bundle-images';
import { verifyImageSignatures } from '../cosign/image-signatures';
import { attestImageIn, attestationCheck, collectImageEvidence, effectiveFormat, signAndAttestIn, signImageIn, signatureCheck, type EvidenceCheck } from '../cosign/verify-image';
import { collectPinnedKeyless, keylessSourceChecks, keylessStatements, withKeyless } from '../sigstore/platform';
import type { KeylessPin } from '../sigstore/pin';
import { developerSignKeyless } from '../sigstore/sign-image';
import { CountersignError } from '../errors';
import { loadSigner } from '../keys/load-signer';
import { keyFingerprint } from '../keys/public-key';
import { buildImageFromDirectory, type FileEntry } from '../oci/build';
import { blobCache } from '../oci/blob-cache';
import { jsonBlob } from '../oci/digest';
import type { Store } from '../oci/store';
import { MEDIA_TYPE } from '../oci/types';
import { evaluatePolicy } from '../policy/policy';
import type { BuildFacts } from '../provenance/slsa';
import { SLSA_PROVENANCE_V1, createProvenance, readBuildFacts, readCommitAuthor } from '../provenance/slsa';
import type { Statement } from '../provenance/statement';
import { createVerificationSummary, statementDescriptor, VSA_PREDICATE_TYPE, type ResourceDescriptor } from '../provenance/vsa';
import { createStatement, parseStatement } from '../provenance/statement';
import { SPDX_PREDICATE_TYPE, createSpdxSbom } from '../sbom/spdx';
import { APPROVAL_PREDICATE_TYPE } from '../approval/constants';
import { readIndex } from '../trust/index-file';
import { judgeSignature } from '../trust/validity';
import { assertTrustAllowsSigning } from '../trust/check';
import type { KeyTrust } from './plan';
import { imageFiles } from '../oci/image-files';
import { describeIndexAttestations, readIndexContents } from '../oci/index-attestations';
import { settleAll } from '../map-limit';

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
  /** Where signatures and attestations are published (default legacy); verification reads both. */
  signatureFormat?: SignatureFormat;
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
  // The blobs side by side (none is still being written once this goes on or fails), then the manifest naming them.
  await settleAll([...image.layers, image.config], (blob) => store.putBlob(path, blob));
  await store.putManifest(path, image.digest, image.manifest.data, image.manifest.descriptor.mediaType);
  // Attest reads the image back by digest (its SBOM lists the files the registry holds): from this
  // worker's memory when this worker pushed them, once the registry took both (content-addressed:
  // the cache serves bytes only while they hash to the digest; large layers are never kept).
  for (const blob of [...image.layers, image.manifest]) blobCache.remember(store, path, blob);
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
  return storeAttestations(deps, target, facts, image.files);
}

/**
 * The same statements for an image already pushed: the SBOM lists the files read back from its
 * layers by digest, so attest needs neither the source directory nor a second build.
 */
export async function attestPushedImage(deps: StepDeps, target: ImageLocation, facts: BuildFacts & { invocationId: string; startedOn: string; finishedOn: string }): Promise<AttestOutcome> {
  const { store, path } = open(deps, target.repository);
  return storeAttestations(deps, target, facts, await imageFiles(store, path, target.digest));
}

async function storeAttestations(
  deps: StepDeps,
  target: ImageLocation,
  facts: BuildFacts & { invocationId: string; startedOn: string; finishedOn: string },
  files: FileEntry[],
): Promise<AttestOutcome> {
  const provenance = createProvenance({ ...facts, subjectName: target.repository, digest: target.digest });
  const sbom = createStatement(
    target.repository,
    target.digest,
    SPDX_PREDICATE_TYPE,
    createSpdxSbom({ imageName: target.repository, imageDigest: target.digest, files, created: facts.finishedOn }),
  );
  const { store, path } = open(deps, target.repository);
  const provenanceBlob = jsonBlob(provenance, MEDIA_TYPE.emptyJson);
  const sbomBlob = jsonBlob(sbom, MEDIA_TYPE.emptyJson);
  // Both name this run's build times, so they are new: pushed without asking first (a retry's
  // second upload of the same bytes loses nothing), side by side.
  await Promise.all(
    [provenanceBlob, sbomBlob].map(async (blob) => {
      await store.putBlob(path, blob, { fresh: true });
      // dev sign reads them back by digest, in this worker more often than not.
      blobCache.remember(store, path, blob);
    }),
  );
  return { provenanceDigest: provenanceBlob.descriptor.digest, sbomDigest: sbomBlob.descriptor.digest };
}

/**
 * Signs the image and attaches both statements, signed, with the developer key, or keyless when
 * the target's keyless trust has `sign:` (as sigstore bundles, docs/keyless.md). Idempotent.
 */
export async function developerSign(
  deps: StepDeps,
  target: ImageLocation,
  key: { ref: string; passwordEnv: string },
  statements: string[],
  keyless?: KeylessPin,
): Promise<{ signatureAdded: boolean; attestationsAdded: number }> {
  const { store, path } = open(deps, target.repository);
  const loaded: Statement[] = [];
  for (const digest of statements) loaded.push(parseStatement(await blobCache.get(store, path, digest)));
  if (keyless?.sign) return developerSignKeyless(store, path, target.digest, keyless, loaded, deps.env);
  const signer = await loadSigner(key.ref, key.passwordEnv, deps.env);
  // The format probe (Referrers API, fallback tag) once for the step, not once per write.
  const format = await effectiveFormat(target.signatureFormat ?? DEFAULT_SIGNATURE_FORMAT, store, path, target.digest);
  const { signatureAdded, attested } = await signAndAttestIn(format, store, path, target.digest, signer, loaded);
  return { signatureAdded, attestationsAdded: attested.filter(Boolean).length };
}

export interface Check {
  name: string;
  ok: boolean;
  message: string;
  /** Stable reason: OK, a cosign ProblemCode (WRONG_KEY, WRONG_DIGEST, ...) or POLICY_MISMATCH. */
  code?: string;
}

export interface VerificationReport {
  ok: boolean;
  checks: Check[];
  /** What the judged provenance attested, when it could be read (the approval gate uses the commit author). */
  facts?: Partial<BuildFacts>;
  /** Every identity the judged provenance gives for the commit's author (docs/approvals.md): none of them may approve. */
  commitAuthors?: string[];
  /** What approvers should know that is not a failed check: unknown author, several provenances. */
  notices?: string[];
  /** When the checks ran: the verification summary's timeVerified. */
  verifiedAt?: string;
  /** The signed statements judged (provenance, SBOM), as the verification summary lists them. */
  evidence?: ResourceDescriptor[];
}

/**
 * The platform's gate: the developer signature, the attestations (signed, for this digest, of the
 * expected types) and the target policy over the provenance. Every check runs and is reported.
 * With `thisRunsInvocation` (a directory build) the policy judges the provenance this run wrote
 * and nothing older on the same digest; without it (an image from CI) every provenance signed by
 * the developer key must pass, so conflicting evidence never passes silently.
 */
export async function verifyForPlatform(
  deps: StepDeps,
  target: ImageLocation,
  developerPublicKeyPem: string,
  policy: Parameters<typeof evaluatePolicy>[0],
  requestedCommit: string | undefined,
  developerTrust?: KeyTrust,
  thisRunsInvocation?: string,
  keylessPin?: KeylessPin,
): Promise<VerificationReport> {
  const { store, path } = open(deps, target.repository);
  const label = `developer key ${keyFingerprint(developerPublicKeyPem).slice(0, 16)}`;
  // Both storage formats are always read: cosign v2 and legacy-mode v3 write .sig/.att tags, v3 by default bundles.
  const evidence = await collectImageEvidence(store, path, target.digest, developerPublicKeyPem);
  // Keyless evidence (the target's keyless:) counts beside the key's; src/sigstore/platform.ts.
  const keyless = keylessPin ? await collectPinnedKeyless(store, path, target.digest, keylessPin) : undefined;
  const orKeyless = (check: EvidenceCheck, predicateType?: string) =>
    keyless ? withKeyless(check, predicateType ? keyless.attestations.filter((a) => a.predicateType === predicateType) : keyless.signatures, keyless) : check;
  const provenanceCheck = attestationCheck('provenanceAttestation', evidence, SLSA_PROVENANCE_V1, label, target.digest);
  const checks: Check[] = [
    orKeyless(signatureCheck('developerSignature', evidence, target.digest, label)),
    orKeyless(provenanceCheck.check, SLSA_PROVENANCE_V1),
    orKeyless(attestationCheck('sbomAttestation', evidence, SPDX_PREDICATE_TYPE, label, target.digest).check, SPDX_PREDICATE_TYPE),
  ];
  if (developerTrust) checks.push(await trustCheck(developerTrust));
  const notices: string[] = [];
  // An index is signed and verified by its own digest, as cosign does; what BuildKit put inside it is only reported.
  const contents = await readIndexContents(store, path, target.digest);
  if (contents.isIndex) notices.push(`${target.digest} is an image index of ${contents.platforms} platform manifest(s): the signatures and attestations checked are the index's own`, ...describeIndexAttestations(contents));
  const signed = distinctStatements([
    ...evidence.attestations.filter((a) => a.predicateType === SLSA_PROVENANCE_V1).map((a) => a.statement),
    ...(keyless ? keylessStatements(keyless, SLSA_PROVENANCE_V1) : []),
  ]);
  let judged = signed;
  if (thisRunsInvocation !== undefined) {
    judged = signed.filter((s) => invocationOf(s) === thisRunsInvocation);
    if (signed.length > 0 && judged.length === 0) {
      checks.push({
        name: 'provenanceOfThisRun',
        ok: false,
        code: 'NOT_FOUND',
        message: `none of the ${signed.length} signed provenance attestation(s) on ${target.digest} is this run's (invocation ${thisRunsInvocation})`,
      });
    }
    if (signed.length > judged.length) notices.push(`${signed.length - judged.length} older provenance attestation(s) on this digest were not judged: the policy judges this run's (invocation ${thisRunsInvocation})`);
  } else if (judged.length > 1) {
    notices.push(`${judged.length} signed provenance attestations on this digest: each must pass the policy`);
  }
  let attested: Partial<BuildFacts> | undefined;
  const authors = new Set<string>();
  const seen = new Map<string, Set<string>>();
  judged.forEach((statement, i) => {
    const which = judged.length > 1 ? `[${invocationOf(statement) ?? `#${i + 1}`}]` : '';
    try {
      const facts = readBuildFacts(statement.predicate);
      attested ??= facts;
      for (const identity of readCommitAuthor(statement.predicate)?.identities ?? []) authors.add(identity);
      for (const key of ['sourceRepo', 'commit', 'builderId', 'buildCommand'] as const) {
        if (facts[key] !== undefined) seen.set(key, (seen.get(key) ?? new Set()).add(facts[key]!));
      }
      for (const c of evaluatePolicy(policy, facts, requestedCommit)) {
        checks.push({ name: `policy${which}.${c.name}`, ok: c.ok, message: `${which ? `${which} ` : ''}${c.message}`, code: c.ok ? 'OK' : 'POLICY_MISMATCH' });
      }
    } catch (err) {
      checks.push({ name: `policy${which}`, ok: false, message: (err as Error).message, code: 'MALFORMED' });
    }
  });
  if (keyless) checks.push(...keylessSourceChecks(keyless, policy, attested, requestedCommit));
  for (const [key, values] of seen) if (values.size > 1) notices.push(`conflicting evidence: the provenance attestations name ${values.size} values of ${key}: ${[...values].join(', ')}`);
  if (attested && authors.size === 0) notices.push('the commit author is unknown (the provenance names none): separation of duties covers the initiator and the developer key only');
  const sboms = distinctStatements([
    ...evidence.attestations.filter((a) => a.predicateType === SPDX_PREDICATE_TYPE).map((a) => a.statement),
    ...(keyless ? keylessStatements(keyless, SPDX_PREDICATE_TYPE) : []),
  ]);
  return {
    ok: checks.every((c) => c.ok),
    checks,
    verifiedAt: (deps.now ?? (() => new Date()))().toISOString(),
    evidence: [...judged, ...sboms].map((st) => statementDescriptor(target.repository, target.digest, st)),
    facts: attested,
    ...(authors.size > 0 ? { commitAuthors: [...authors] } : {}),
    ...(notices.length > 0 ? { notices } : {}),
  };
}

function invocationOf(statement: Statement): string | undefined {
  const id = (statement.predicate as { runDetails?: { metadata?: { invocationId?: unknown } } })?.runDetails?.metadata?.invocationId;
  return typeof id === 'string' ? id : undefined;
}

/** The same statement published in both formats counts once. */
function distinctStatements(statements: Statement[]): Statement[] {
  const byText = new Map<string, Statement>();
  for (const s of statements) byText.set(JSON.stringify(s), s);
  return [...byText.values()];
}

/**
 * When the developer key comes from a trust store, its entry there must still vouch for it: a
 * revoked key (or a retired one, since a developer signature carries no signing time) fails.
 */
async function trustCheck(trust: KeyTrust): Promise<Check> {
  const index = await readIndex(trust.publishDir);
  const verdict = judgeSignature(index.keys.find((k) => k.id === trust.keyId), undefined);
  return { name: 'developerKeyTrust', ok: verdict.ok, message: verdict.message, code: verdict.code };
}

/**
 * Opens each signing key the promotion will need and checks it is the key pinned at start, so
 * a missing file, a wrong passphrase or a swapped key stops the run before anything is signed.
 */
export async function checkSigningKeys(
  deps: StepDeps,
  keys: Array<{ role: string; ref: string; passwordEnv: string; fingerprint: string; trust?: KeyTrust }>,
): Promise<{ checked: string[] }> {
  const checked: string[] = [];
  for (const key of keys) {
    await assertTrustAllowsSigning(key.trust);
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

/**
 * The production signature: platform key, by digest, exactly once per (digest, key). What is in
 * the registry is read before signing and again once the signer returns (a slow signer may have
 * been overtaken by another attempt); `signal` stops a superseded attempt before it writes; and
 * the result is read back and must hold exactly one signature by the key before this returns.
 */
export interface SummaryFacts {
  target: string;
  policyDigest: string;
  /** The sealed passing report's time and evidence (an older report without them: the approval's signing time, no evidence). */
  report: Pick<VerificationReport, 'verifiedAt' | 'evidence'>;
  /** The worker's verifier id, pinned in the plan (a plan from before it: VSA_VERIFIER_ID). */
  verifierId?: string;
}

export async function productionSign(
  deps: StepDeps,
  target: ImageLocation,
  key: { ref: string; passwordEnv: string; fingerprint: string; trust?: KeyTrust },
  approvalRecord?: unknown,
  options: { signal?: AbortSignal; summary?: SummaryFacts } = {},
): Promise<{ added: boolean; keyFingerprint: string; approvalRecordAdded?: boolean; summaryAdded?: boolean }> {
  const signer = await loadSigner(key.ref, key.passwordEnv, deps.env);
  const actual = keyFingerprint(await signer.publicKeyPem());
  if (actual !== key.fingerprint) {
    throw new CountersignError('KEY_INVALID', `platform key ${key.ref} has fingerprint ${actual}, but the promotion pinned ${key.fingerprint}`);
  }
  // A key revoked (or retired) since the promotion pinned it signs nothing more: checked last, right before signing.
  await assertTrustAllowsSigning(key.trust);
  const { store, path } = open(deps, target.repository);
  const publicKeyPem = await signer.publicKeyPem();
  const format = await effectiveFormat(target.signatureFormat ?? DEFAULT_SIGNATURE_FORMAT, store, path, target.digest);
  // The signed approval statements travel with the image, signed by the platform key, so a
  // customer can check with cosign verify-attestation that approvals happened.
  // Same format as the signature: cosign v3 ignores .att once an image has bundles.
  const approval = approvalRecord === undefined ? undefined : createStatement(target.repository, target.digest, APPROVAL_PREDICATE_TYPE, approvalRecord);
  const facts = options.summary;
  const summary = facts
    ? createVerificationSummary({
        repository: target.repository,
        digest: target.digest,
        target: facts.target,
        policyDigest: facts.policyDigest,
        ...(facts.verifierId ? { verifierId: facts.verifierId } : {}),
        timeVerified: facts.report.verifiedAt ?? String((approvalRecord as { signedAt?: unknown })?.signedAt ?? new Date(0).toISOString()),
        inputAttestations: [...(facts.report.evidence ?? []), ...(approval ? [statementDescriptor(target.repository, target.digest, approval)] : [])],
      })
    : undefined;
  if (format === 'bundle') {
    // One batch: signed side by side, then under the lock the signature is pushed first and the
    // approval record and summary only after it was acknowledged (nothing half-signed), from one
    // look before signing and one under the lock. A summary by the key already there is enough.
    const statements = [...(approval ? [approval] : []), ...(summary ? [summary] : [])];
    const { signatureAdded, attested, pushed } = await signAndAttestBundles(store, path, target.digest, signer, true, statements, { ...options, anyOfType: [VSA_PREDICATE_TYPE] });
    await confirmProductionSignature(store, path, target.digest, publicKeyPem, format, facts !== undefined, new Set(pushed));
    return {
      added: signatureAdded,
      keyFingerprint: actual,
      ...(approval ? { approvalRecordAdded: attested[0] } : {}),
      ...(summary ? { summaryAdded: attested[approval ? 1 : 0] } : {}),
    };
  }
  // Read beside the signature's write: it looks only for a summary by the key.
  const summaryFormat = summary ? summaryFormatMissing(format, store, path, target.digest, publicKeyPem) : Promise.resolve(undefined);
  // Awaited below unless the signature fails first; then its error is the one reported.
  summaryFormat.catch(() => undefined);
  // Nothing half-signed: the approval record and summary are written only once the platform
  // signature is in the registry (acknowledged, or found there), never before it, so a worker
  // killed in between leaves a signature without its record (the retry attaches it), never a
  // record without its signature. They need not wait for the signature's read-back as well: both
  // manifests settle in the same wait (docs/architecture.md, "Exactly once"). With bundles the
  // signature is one or more referrer writes with no such hook, so the record waits for all of it.
  let signatureWritten: () => void = () => undefined;
  const landed = new Promise<void>((resolve) => (signatureWritten = resolve));
  const signing = signImageIn(format, store, path, target.digest, signer, format === 'legacy' ? { ...options, onWritten: signatureWritten } : options);
  const attaching = (async () => {
    await Promise.race([landed, signing]);
    const f = await summaryFormat;
    const writes: Array<{ statement: Statement; format: SignatureFormat }> = [
      ...(approval ? [{ statement: approval, format }] : []),
      ...(summary && f ? [{ statement: summary, format: f }] : []),
    ];
    const added = new Map<Statement, boolean>();
    // Statements bound for the same format(s) go in one `.att` update.
    for (const f of new Set(writes.map((w) => w.format))) {
      const batch = writes.filter((w) => w.format === f).map((w) => w.statement);
      (await attestImageIn(f, store, path, target.digest, batch, signer, options)).forEach((a, i) => added.set(batch[i], a));
    }
    return added;
  })();
  // Both settle before this returns or throws: no write of this attempt outlives it.
  const [signedOutcome, attachedOutcome] = await Promise.allSettled([signing, attaching]);
  if (signedOutcome.status === 'rejected') throw signedOutcome.reason;
  if (attachedOutcome.status === 'rejected') throw attachedOutcome.reason;
  const signed = signedOutcome.value;
  const added = attachedOutcome.value;
  const approvalRecordAdded = approval ? (added.get(approval) ?? false) : undefined;
  const summaryAdded = summary ? (added.get(summary) ?? false) : undefined;
  await confirmProductionSignature(store, path, target.digest, publicKeyPem, signed.format, options.summary !== undefined);
  return {
    added: signed.added,
    keyFingerprint: actual,
    ...(approvalRecordAdded === undefined ? {} : { approvalRecordAdded }),
    ...(summaryAdded === undefined ? {} : { summaryAdded }),
  };
}

/**
 * The format(s) a verification summary by the key is still missing in (`format` as effectiveFormat
 * gave it): an image that already has one by the key (an earlier promotion of the same digest)
 * gets no second. Promotions racing on one digest may each add theirs; the read-back asks for at
 * least one. Reads only the formats `format` writes.
 */
async function summaryFormatMissing(format: SignatureFormat, store: Store, path: string, digest: string, publicKeyPem: string): Promise<SignatureFormat | undefined> {
  const [atts, bundles] = await Promise.all([
    writesLegacy(format) ? verifyAttestations(store, path, digest, publicKeyPem) : undefined,
    writesBundle(format) ? verifyImageBundles(store, path, digest, publicKeyPem) : undefined,
  ]);
  const legacy = atts !== undefined && !atts.attestations.some((a) => a.predicateType === VSA_PREDICATE_TYPE);
  const bundle = bundles !== undefined && !bundles.attestations.some((a) => a.predicateType === VSA_PREDICATE_TYPE);
  return legacy && bundle ? 'both' : legacy ? 'legacy' : bundle ? 'bundle' : undefined;
}

/**
 * Reads back what production signing left: exactly one legacy signature by the key (when written),
 * a bundle one at least. What counts is fetched from the registry, not the process's blob cache
 * (the `.sig`/`.att` layers, the key's bundles and their manifests): this is what customers will
 * verify, so a blob the registry no longer serves must fail here. Bundles this attempt pushed a
 * moment ago (`pushedJustNow`) are not fetched again: the registry just acknowledged them, and
 * the listing, read afresh, must still name them.
 */
async function confirmProductionSignature(store: Store, path: string, digest: string, publicKeyPem: string, format: SignatureFormat, summary = false, pushedJustNow?: ReadonlySet<string>): Promise<void> {
  const fresh = { fresh: true };
  const [sigs, atts, bundles] = await Promise.all([
    writesLegacy(format) ? verifyImageSignatures(store, path, digest, publicKeyPem, fresh) : undefined,
    writesLegacy(format) && summary ? verifyAttestations(store, path, digest, publicKeyPem, fresh) : undefined,
    writesBundle(format) ? verifyImageBundles(store, path, digest, publicKeyPem, { freshWhereCounted: true, pushedJustNow }) : undefined,
  ]);
  const where = `${store.location}/${path}@${digest}`;
  if (summary) {
    for (const [f, found] of [['legacy', atts?.attestations], ['bundle', bundles?.attestations]] as const) {
      // At least one: promotions of one digest to several targets that share the key may each
      // attach theirs at the same moment, and a second summary is not a second signature: insisting
      // on exactly one here would retry for ever.
      if (found !== undefined && !found.some((a) => a.predicateType === VSA_PREDICATE_TYPE)) {
        throw new CountersignError('REGISTRY_ERROR', `read back no verification summary (${f}) by ${keyFingerprint(publicKeyPem).slice(0, 16)} on ${where}; retrying`);
      }
    }
  }
  if (sigs !== undefined && sigs.valid !== 1) {
    throw new CountersignError('REGISTRY_ERROR', `read back ${sigs.valid} platform signatures (.sig) by ${keyFingerprint(publicKeyPem).slice(0, 16)} on ${where}, not exactly one: another writer changed it; retrying`);
  }
  if (bundles !== undefined && bundles.signatures < 1) {
    throw new CountersignError('REGISTRY_ERROR', `read back no platform signature bundle by ${keyFingerprint(publicKeyPem).slice(0, 16)} on ${where}; retrying`);
  }
}

/** Points the release tag at the promoted digest (by copying the manifest bytes, never by re-resolving a tag). */
export async function release(deps: StepDeps, target: ImageLocation, tag: string): Promise<{ reference: string }> {
  const { store, path } = open(deps, target.repository);
  // From the registry, not the blob cache: an image deleted while it waited for approval is not
  // put back under the release tag from this worker's memory.
  const manifest = await store.getManifest(path, target.digest);
  if (!manifest) throw new CountersignError('MANIFEST_UNKNOWN', `image ${target.repository}@${target.digest} vanished before release`);
  await store.putManifest(path, tag, manifest.data, manifest.mediaType);
  return { reference: `${target.repository}:${tag}@${target.digest}` };
}
