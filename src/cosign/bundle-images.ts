/**
 * Image signatures and attestations in cosign v3's default ("new bundle") format: each one a
 * sigstore v0.3 bundle holding a DSSE-signed in-toto statement, pushed as an OCI referrer of the
 * image. A signature is a statement of predicate type https://sigstore.dev/cosign/sign/v1.
 */
import type { KeyObject } from 'node:crypto';
import { IN_TOTO_PAYLOAD_TYPE } from '../dsse/envelope';
import type { Signer } from '../keys/signer';
import { mapLimit } from '../map-limit';
import { blobCache, type BlobReadOptions } from '../oci/blob-cache';
import { digestOf } from '../oci/digest';
import { parseImageManifest } from '../oci/manifest';
import type { Store } from '../oci/store';
import type { Descriptor, ImageManifest } from '../oci/types';
import { MEDIA_TYPE } from '../oci/types';
import type { Statement } from '../provenance/statement';
import { STATEMENT_TYPE_V1, parseStatement, statementCoversDigest, subjectDigests } from '../provenance/statement';
import { BUNDLE_V03_MEDIA_TYPE, DEFAULT_BUNDLE_MAX_BYTES, createDsseBundle, parseBundle, verifyDsseBundle, type SerializedBundle } from './bundle';
import { EvidenceError, asProblem, type Problem } from './problems';
import { listReferrers, pushReferrer, type ListReferrersOptions } from './referrers';
import { CountersignError } from '../errors';
import type { WriteOptions } from './signature-writes';
import { VerifiedReferrers } from './verified-referrers';
import { manifestKey, serialised } from './write-lock';

export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const BUNDLE_CONTENT_ANNOTATION = 'dev.sigstore.bundle.content';
export const BUNDLE_PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
/** The empty JSON config (`{}`) every bundle's referrer manifest names, as OCI 1.1 artifacts do. */
const EMPTY_CONFIG = Buffer.from('{}', 'utf8');
/** The empty JSON config every bundle's referrer manifest names, as OCI 1.1 artifacts do. */
export const EMPTY_CONFIG_BLOB = { data: EMPTY_CONFIG, descriptor: { mediaType: MEDIA_TYPE.emptyJson, digest: digestOf(EMPTY_CONFIG), size: EMPTY_CONFIG.length } };
/** Referrers checked at once (their count is capped in referrers.ts). */
export const BUNDLE_FETCH_CONCURRENCY = 4;
/** The worker process's answers for referrers it has verified (src/cosign/verified-referrers.ts). */
export const verifiedReferrers = new VerifiedReferrers<VerifiedStatement | 'not-a-bundle' | { refused: Error }>();

export interface BundleReadOptions extends BlobReadOptions, ListReferrersOptions {
  /**
   * Read from the cache, then fetch again the referrers that count under the key (manifest and
   * bundle): a read-back of what was published, which must fail when the registry no longer
   * serves it, without fetching every other referrer of the image again.
   */
  freshWhereCounted?: boolean;
  /**
   * With freshWhereCounted: referrers the caller pushed a moment ago (the registry acknowledged
   * the manifest, whose bundle it had just stored), not fetched again; the listing, read afresh,
   * still has to name them.
   */
  pushedJustNow?: ReadonlySet<string>;
}

export interface VerifiedStatement {
  predicateType: string;
  statement: Statement;
}

export interface BundleEvidence {
  /** Bundles with a cosign signature statement for the digest, signed by the key. */
  signatures: number;
  /** Other statements for the digest signed by the key (provenance, SBOM, …). */
  attestations: VerifiedStatement[];
  /** Every sigstore-bundle referrer that did not count, and why. */
  problems: Problem[];
  /** How many bundle referrers were looked at. */
  examined: number;
}

/**
 * Reads every sigstore-bundle referrer of `digest` and sorts what verifies under the key. The
 * listing (src/cosign/referrers.ts) is read every time; the referrer manifests it names
 * and their bundles come from the process's blob cache unless `fresh`, as the `.sig`/`.att`
 * layers do (src/oci/blob-cache.ts), and a referrer already verified under the key while the cache
 * holds its blobs is not parsed or checked again (src/cosign/verified-referrers.ts).
 */
export async function verifyImageBundles(store: Store, repository: string, digest: string, publicKey: string | KeyObject, options: BundleReadOptions = {}): Promise<BundleEvidence> {
  const out: BundleEvidence = { signatures: 0, attestations: [], problems: [], examined: 0 };
  const referrers = (await listReferrers(store, repository, digest, options)).filter((d) => !d.artifactType || d.artifactType === BUNDLE_V03_MEDIA_TYPE);
  const checked = await mapLimit(referrers, BUNDLE_FETCH_CONCURRENCY, async (descriptor) => {
    const where = `bundle ${descriptor.digest.slice(0, 19)}`;
    try {
      const statement = await checkReferrer(store, repository, digest, descriptor, publicKey, options);
      // The bytes are the digest's either way: what the fresh read adds is that the registry still serves them.
      if (options.freshWhereCounted && statement !== 'not-a-bundle' && !options.pushedJustNow?.has(descriptor.digest)) await readReferrerBundle(store, repository, digest, descriptor, { fresh: true });
      return { where, statement };
    } catch (err) {
      return { where, problem: asProblem(where, err) };
    }
  });
  for (const c of checked) {
    if ('problem' in c && c.problem) out.problems.push(c.problem);
    else if (c.statement === 'not-a-bundle') continue;
    else if (c.statement) {
      if (c.statement.predicateType === COSIGN_SIGN_PREDICATE_TYPE) out.signatures += 1;
      else out.attestations.push(c.statement);
    }
    out.examined += 1;
  }
  return out;
}

async function checkReferrer(store: Store, repository: string, digest: string, referrer: Descriptor, publicKey: string | KeyObject, options: BlobReadOptions): Promise<VerifiedStatement | 'not-a-bundle'> {
  const which = { store, repository, subject: digest, referrer: referrer.digest, publicKey };
  const known = options.fresh ? undefined : verifiedReferrers.lookup(which);
  if (known && typeof known === 'object' && 'refused' in known) throw known.refused;
  if (known) return known;
  const read = await readReferrerBundle(store, repository, digest, referrer, options);
  if (read === 'not-a-bundle') {
    verifiedReferrers.remember(which, read);
    return read;
  }
  let statement: VerifiedStatement;
  try {
    const { payloadType, payload } = verifyDsseBundle(read.bundle, publicKey);
    statement = signedStatement(payloadType, payload, digest, read.annotations);
  } catch (err) {
    // Judged from bytes already read (another key's bundle, most often): the same bytes get the same refusal.
    if (err instanceof EvidenceError || err instanceof CountersignError) verifiedReferrers.remember(which, { refused: err }, read.layer);
    throw err;
  }
  verifiedReferrers.remember(which, statement, read.layer);
  return statement;
}

/**
 * A bundle referrer of `digest`, read and parsed (not verified): its bundle and manifest
 * annotations. The manifest (by the digest the listing gives) and the bundle blob (by the digest
 * the manifest names) come through the blob cache unless `fresh`: both are content-addressed.
 */
export async function readReferrerBundle(
  store: Store,
  repository: string,
  digest: string,
  referrer: Descriptor,
  options: BlobReadOptions = {},
): Promise<{ bundle: SerializedBundle; annotations?: Record<string, string>; layer: string } | 'not-a-bundle'> {
  const stored = await blobCache.getManifest(store, repository, referrer.digest, referrer.size, options);
  if (!stored) throw new EvidenceError('NOT_FOUND', `referrer manifest ${referrer.digest} is listed but not stored`);
  let manifest: ImageManifest;
  try {
    manifest = parseImageManifest(stored, 'referrer manifest');
  } catch (err) {
    if (err instanceof CountersignError && err.code === 'MANIFEST_INVALID') throw new EvidenceError('MALFORMED', err.message.slice('MANIFEST_INVALID: '.length));
    throw err;
  }
  if (manifest.artifactType !== BUNDLE_V03_MEDIA_TYPE) return 'not-a-bundle';
  if (manifest.subject?.digest !== digest) throw new EvidenceError('WRONG_DIGEST', `referrer's subject is ${manifest.subject?.digest ?? 'missing'}, not ${digest}`);
  if (!Array.isArray(manifest.layers) || manifest.layers.length !== 1 || manifest.layers[0].mediaType !== BUNDLE_V03_MEDIA_TYPE) {
    throw new EvidenceError('MALFORMED', `a bundle referrer has exactly one ${BUNDLE_V03_MEDIA_TYPE} layer`);
  }
  const layer = manifest.layers[0];
  if (layer.size > DEFAULT_BUNDLE_MAX_BYTES) {
    throw new CountersignError('INPUT_TOO_LARGE', `bundle layer ${layer.digest} declares ${layer.size} bytes, over the ${DEFAULT_BUNDLE_MAX_BYTES}-byte limit`, {
      details: { bytes: layer.size, limit: DEFAULT_BUNDLE_MAX_BYTES },
    });
  }
  return { bundle: parseBundle(await blobCache.get(store, repository, layer.digest, layer.size, options)), annotations: manifest.annotations, layer: layer.digest };
}

/** The in-toto statement a verified DSSE payload carries, for `digest`, as its referrer annotates it. */
export function signedStatement(payloadType: string, payload: Buffer, digest: string, annotations: Record<string, string> | undefined): VerifiedStatement {
  if (payloadType !== IN_TOTO_PAYLOAD_TYPE) throw new EvidenceError('WRONG_TYPE', `payloadType ${payloadType} is not in-toto`);
  const statement = parseStatement(payload);
  if (!statementCoversDigest(statement, digest)) {
    throw new EvidenceError('WRONG_DIGEST', `signed statement's subject is ${subjectDigests(statement).join(', ') || 'empty'}, not ${digest}`);
  }
  const annotated = annotations?.[BUNDLE_PREDICATE_ANNOTATION];
  if (annotated !== undefined && annotated !== statement.predicateType) {
    throw new EvidenceError('WRONG_TYPE', `annotated predicate type ${annotated} differs from the signed ${statement.predicateType}`);
  }
  return { predicateType: statement.predicateType, statement };
}

/** The statement cosign v3 signs for `cosign sign`: the image digest as subject, empty predicate. */
export function signatureStatement(digest: string): Record<string, unknown> {
  return { _type: STATEMENT_TYPE_V1, subject: [{ digest: { sha256: digest.slice('sha256:'.length) }, annotations: {} }], predicateType: COSIGN_SIGN_PREDICATE_TYPE, predicate: {} };
}

/** Makes a DSSE bundle over a payload: a key's (createDsseBundle) or a keyless signer's (src/sigstore/keyless-sign.ts). */
export type DsseBundleMaker = (payload: Buffer, payloadType: string) => Promise<SerializedBundle>;

const withKey = (signer: Signer): DsseBundleMaker => (payload, payloadType) => createDsseBundle(payload, payloadType, signer);

/**
 * The image a bundle refers to, as the referrer's `subject`. Read by digest, so from the blob cache
 * after the first read (each bundle of a promotion names the same image); the media type is the
 * manifest's own field, or, when it has none, what the registry serves it as.
 */
async function subjectOf(store: Store, repository: string, digest: string): Promise<Descriptor> {
  const image = await blobCache.getStoredManifest(store, repository, digest);
  if (!image) throw new CountersignError('MANIFEST_UNKNOWN', `image ${store.location}/${repository}@${digest} does not exist`);
  return { mediaType: image.mediaType, size: image.data.length, digest };
}

/**
 * The empty config every bundle's referrer manifest names, pushed once per repository by this
 * process (not HEAD-checked again for each bundle); forgotten when a referrer push fails, so the
 * next attempt pushes it again should the registry have lost it.
 */
const emptyConfigPushes = new Map<string, Promise<void>>();
const emptyConfigKey = (store: Store, repository: string) => `${store.location}/${repository}`;

function pushEmptyConfig(store: Store, repository: string): Promise<void> {
  const key = emptyConfigKey(store, repository);
  let pushing = emptyConfigPushes.get(key);
  if (!pushing) {
    pushing = store.putBlob(repository, EMPTY_CONFIG_BLOB).then(() => undefined);
    emptyConfigPushes.set(key, pushing);
    pushing.catch(() => emptyConfigPushes.delete(key));
  }
  return pushing;
}

/** Signs a statement into a bundle, pushes its blobs, and returns the referrer manifest to push. */
async function prepareStatementBundle(store: Store, repository: string, digest: string, statement: object, predicateType: string, makeBundle: DsseBundleMaker) {
  const subject = await subjectOf(store, repository, digest);
  const bundle = Buffer.from(JSON.stringify(await makeBundle(Buffer.from(JSON.stringify(statement), 'utf8'), IN_TOTO_PAYLOAD_TYPE)), 'utf8');
  const bundleDigest = digestOf(bundle);
  await pushEmptyConfig(store, repository);
  const blob = { data: bundle, descriptor: { mediaType: BUNDLE_V03_MEDIA_TYPE, digest: bundleDigest, size: bundle.length } };
  // Signed just now (a fresh signature and timestamp): no registry has these bytes, so no HEAD first.
  await store.putBlob(repository, blob, { fresh: true });
  // The look under the lock and every later verification read these bytes again.
  blobCache.remember(store, repository, blob);
  const annotations = {
    [BUNDLE_CONTENT_ANNOTATION]: 'dsse-envelope',
    [BUNDLE_PREDICATE_ANNOTATION]: predicateType,
    'org.opencontainers.image.created': new Date().toISOString().replace(/\.\d+Z$/, 'Z'),
  };
  const manifest: ImageManifest = {
    schemaVersion: 2,
    mediaType: MEDIA_TYPE.imageManifest,
    config: { ...EMPTY_CONFIG_BLOB.descriptor, artifactType: BUNDLE_V03_MEDIA_TYPE },
    layers: [{ mediaType: BUNDLE_V03_MEDIA_TYPE, size: bundle.length, digest: bundleDigest }],
    annotations,
    subject,
    artifactType: BUNDLE_V03_MEDIA_TYPE,
  };
  return { manifest: Buffer.from(JSON.stringify(manifest), 'utf8'), annotations };
}

/** A statement a step signs into a bundle and pushes, unless the image already carries it. */
export interface BundleWrite<Found> {
  statement: object;
  predicateType: string;
  /** Whether it is already there, in what the step's look found. */
  presentIn: (found: Found) => boolean;
}

/**
 * Signs (possibly slowly) the statements not yet on the image, then, one writer at a time for this
 * image's bundles in this process, looks again and pushes only those still missing: an attempt
 * overtaken while it signed writes nothing. One look before signing and one under the lock serve
 * every statement of the step. Resolves with the referrer manifest each was pushed as, undefined
 * where nothing was written.
 */
export async function pushBundlesOnce<Found>(
  store: Store,
  repository: string,
  digest: string,
  writes: Array<BundleWrite<Found>>,
  makeBundle: DsseBundleMaker,
  look: () => Promise<Found>,
  options: WriteOptions,
): Promise<Array<string | undefined>> {
  const pushed: Array<string | undefined> = writes.map(() => undefined);
  const before = await look();
  const missing = writes.map((write, i) => ({ write, i })).filter(({ write }) => !write.presentIn(before));
  if (missing.length === 0) return pushed;
  const prepared = await Promise.all(missing.map(({ write }) => prepareStatementBundle(store, repository, digest, write.statement, write.predicateType, makeBundle)));
  return serialised(manifestKey(store.location, repository, `${digest}#bundles`), async () => {
    const now = await look();
    for (const [n, { write, i }] of missing.entries()) {
      if (write.presentIn(now)) continue;
      options.signal?.throwIfAborted();
      try {
        pushed[i] = await pushReferrer(store, repository, digest, prepared[n].manifest, BUNDLE_V03_MEDIA_TYPE, prepared[n].annotations);
      } catch (err) {
        // The registry may have lost the empty config this process pushed earlier (it answers
        // MANIFEST_BLOB_UNKNOWN, a retryable REGISTRY_ERROR): the step's next attempt pushes it again.
        emptyConfigPushes.delete(emptyConfigKey(store, repository));
        throw err;
      }
    }
    return pushed;
  });
}

export interface BundleWriteOptions extends WriteOptions {
  /** Predicate types of which one statement by the key is enough: any such statement there counts as this one (a verification summary). */
  anyOfType?: string[];
}

/** What a step's look found, as the writes need it: whether a signature is there, and the statements. */
export interface FoundBundles<Found> {
  hasSignature: (found: Found) => boolean;
  attestations: (found: Found) => VerifiedStatement[];
}

/**
 * A signer's bundle writes: the cosign signature (when `sign`, first) and each statement, unless
 * there already (the same statement byte for byte once serialised, or, for `anyOfType`, any of
 * its predicate type). A key's look and a keyless identity's give `found` their own way.
 */
export function bundleWrites<Found>(digest: string, sign: boolean, statements: Statement[], found: FoundBundles<Found>, anyOfType: string[] = []): Array<BundleWrite<Found>> {
  const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
  return [
    ...(sign ? [{ statement: signatureStatement(digest), predicateType: COSIGN_SIGN_PREDICATE_TYPE, presentIn: found.hasSignature }] : []),
    ...statements.map((statement) => ({
      statement,
      predicateType: statement.predicateType,
      presentIn: anyOfType.includes(statement.predicateType)
        ? (f: Found) => found.attestations(f).some((a) => a.predicateType === statement.predicateType)
        : (f: Found) => found.attestations(f).some((a) => same(a.statement, statement)),
    })),
  ];
}

/** A key's look: the bundles that verify under it. */
const KEY_FOUND: FoundBundles<BundleEvidence> = { hasSignature: (f) => f.signatures > 0, attestations: (f) => f.attestations };

/**
 * A key's cosign signature bundle (when `sign`) and attestation bundles for `digest`, each unless
 * already there by the same key, from one look before signing and one under the lock. They are
 * pushed in order, the signature first, each once the one before it was acknowledged: never side
 * by side, as a registry may keep only one of two referrers of an image pushed at once (olareg
 * 0.1.2 listed 29 of 40 pushed two at a time), and the readers would miss the other.
 */
export async function signAndAttestBundles(
  store: Store,
  repository: string,
  digest: string,
  signer: Signer,
  sign: boolean,
  statements: Statement[],
  options: BundleWriteOptions = {},
): Promise<{ signatureAdded: boolean; attested: boolean[]; pushed: string[] }> {
  const publicKey = await signer.publicKeyPem();
  const writes = bundleWrites(digest, sign, statements, KEY_FOUND, options.anyOfType);
  const referrers = await pushBundlesOnce(store, repository, digest, writes, withKey(signer), () => verifyImageBundles(store, repository, digest, publicKey), options);
  const added = referrers.map((r) => r !== undefined);
  const pushed = referrers.filter((r): r is string => r !== undefined);
  return sign ? { signatureAdded: added[0], attested: added.slice(1), pushed } : { signatureAdded: false, attested: added, pushed };
}

/** A cosign v3 signature bundle for `digest`, unless one by the same key is already there. */
export async function signImageBundle(store: Store, repository: string, digest: string, signer: Signer, options: WriteOptions = {}): Promise<{ added: boolean }> {
  return { added: (await signAndAttestBundles(store, repository, digest, signer, true, [], options)).signatureAdded };
}

/** An attestation bundle for `digest`, unless the same statement signed by the same key is there. */
export async function attestImageBundle(store: Store, repository: string, digest: string, statement: Statement, signer: Signer, options: WriteOptions = {}): Promise<{ added: boolean }> {
  return { added: (await signAndAttestBundles(store, repository, digest, signer, false, [statement], options)).attested[0] };
}
