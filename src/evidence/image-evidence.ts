/**
 * What an image in the registry carries that its developer key signed: the build facts of each
 * provenance attestation and the SBOM. Attestations anyone could have pushed count only when the
 * pinned developer key verifies them, so an unsigned planted provenance never reaches a page.
 */
import { createHash } from 'node:crypto';
import { verifyAttestations } from '../cosign/attestations';
import { verifyImageBundles } from '../cosign/bundle-images';
import type { Store } from '../oci/store';
import { SLSA_PROVENANCE_V1, readBuildFacts, type BuildFacts } from '../provenance/slsa';
import { canonicalJson } from '../requests/statement';
import { SPDX_PREDICATE_TYPE } from '../sbom/spdx';
import { sbomContents, type SbomContents } from './sbom-diff';

export interface SignedImageEvidence {
  /** Build facts of every distinct provenance the key signed for the digest. */
  provenance: Array<Partial<BuildFacts>>;
  /** The SBOM the key signed (the first, when several differ; `sboms` says how many). */
  sbom?: SbomContents;
  sboms: number;
  /** sha256 of each distinct signed statement, sorted: a new attestation changes this list. */
  statementDigests: string[];
}

export async function readSignedImageEvidence(store: Store, repository: string, digest: string, developerPublicKeyPem: string): Promise<SignedImageEvidence> {
  // Attestations only, in both formats: the pack holds no signatures, so the `.sig` manifest is not
  // read (the gate reads the pack at opening, at quorum and on its schedule). Both formats always,
  // whatever the target publishes: stock cosign v3 attaches a new attestation as a bundle.
  const [legacy, bundles] = await Promise.all([verifyAttestations(store, repository, digest, developerPublicKeyPem), verifyImageBundles(store, repository, digest, developerPublicKeyPem)]);
  const distinct = new Map<string, { predicateType: string; predicate: unknown }>();
  for (const a of [...legacy.attestations, ...bundles.attestations]) distinct.set(statementDigest(a.statement), { predicateType: a.predicateType, predicate: a.statement.predicate });
  const provenance: Array<Partial<BuildFacts>> = [];
  const sboms: SbomContents[] = [];
  for (const a of distinct.values()) {
    if (a.predicateType === SLSA_PROVENANCE_V1) {
      try {
        provenance.push(readBuildFacts(a.predicate));
      } catch {
        // Signed but not readable as SLSA v1: platform verify reports it; here it has no facts to show.
      }
    }
    if (a.predicateType === SPDX_PREDICATE_TYPE) sboms.push(sbomContents(a.predicate));
  }
  return { provenance, ...(sboms[0] ? { sbom: sboms[0] } : {}), sboms: sboms.length, statementDigests: [...distinct.keys()].sort() };
}

const digestsOfFrozen = new WeakMap<object, string>();

/**
 * sha256 of the statement's canonical JSON. A frozen statement (a verified referrer's, the same
 * object on every read: src/cosign/verified-referrers.ts) is hashed once.
 */
function statementDigest(statement: object): string {
  const known = digestsOfFrozen.get(statement);
  if (known) return known;
  const digest = createHash('sha256').update(canonicalJson(statement)).digest('hex');
  if (Object.isFrozen(statement)) digestsOfFrozen.set(statement, digest);
  return digest;
}

/** The digest a tag points at now, or undefined when the tag does not exist. */
export async function tagDigest(store: Store, repository: string, tag: string): Promise<string | undefined> {
  return (await store.getManifest(repository, tag))?.digest;
}
