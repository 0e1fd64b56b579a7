/**
 * Platform verify's keyless half: evidence signed by a trusted identity counts beside the
 * developer key's, and every keyless signer's source facts are held to the policy.
 */
import type { EvidenceCheck } from '../cosign/verify-image';
import type { Problem } from '../cosign/problems';
import type { TargetPolicy } from '../policy/policy';
import type { BuildFacts } from '../provenance/slsa';
import type { Statement } from '../provenance/statement';
import type { Store } from '../oci/store';
import { collectKeylessEvidence, type KeylessImageEvidence, type KeylessSignature } from './image-evidence';
import type { BundleTrust } from './keyless';
import type { KeylessPin } from './pin';
import { checkKeylessSource, type SourceCheck } from './source-check';
import { parseTrustedRoot } from './trusted-root';

export function trustFromPin(pin: KeylessPin): BundleTrust {
  return { root: parseTrustedRoot(pin.trustedRoot, `pinned trusted root ${pin.trustedRootDigest.slice(0, 19)}`), identities: pin.identities, require: pin.require };
}

export function collectPinnedKeyless(store: Store, path: string, digest: string, pin: KeylessPin): Promise<KeylessImageEvidence> {
  return collectKeylessEvidence(store, path, digest, trustFromPin(pin));
}

const problemsText = (problems: Problem[]) => (problems.length > 0 ? `; keyless: ${problems.map((p) => `${p.where}: ${p.code} ${p.message}`).join('; ')}` : '; keyless: none found');

/** The key's check, passed instead by keyless evidence when the key's found none; failing, it names the keyless problem first. */
export function withKeyless(check: EvidenceCheck, found: KeylessSignature[], keyless: KeylessImageEvidence): EvidenceCheck {
  if (check.ok) return check;
  if (found.length > 0) {
    const by = [...new Set(found.map((f) => `${f.facts.subject} from ${f.facts.issuer} (${f.format})`))].join(', ');
    return { ...check, ok: true, code: 'OK', message: `keyless, by ${by}` };
  }
  const first = keyless.problems[0];
  // Keyless evidence that is there but fails says more than the key's absence does.
  return { ...check, code: first ? first.code : check.code, message: `${check.message}${problemsText(keyless.problems)}` };
}

/** Keyless provenance statements, to be judged by the policy like the key's. */
export function keylessStatements(keyless: KeylessImageEvidence, predicateType: string): Statement[] {
  return keyless.attestations.filter((a) => a.predicateType === predicateType).map((a) => a.statement);
}

/** Every keyless signer that counted, its certificate's repository, ref and commit against the policy. */
export function keylessSourceChecks(keyless: KeylessImageEvidence, policy: TargetPolicy, attested: Partial<BuildFacts> | undefined, requestedCommit: string | undefined): Array<Omit<SourceCheck, 'name'> & { name: string }> {
  const signers = new Map<string, KeylessSignature>();
  for (const s of [...keyless.signatures, ...keyless.attestations]) signers.set(JSON.stringify([s.facts.subject, s.facts.sourceRepository, s.facts.sourceRepositoryRef, s.facts.sourceRepositoryDigest]), s);
  const many = signers.size > 1;
  return [...signers.values()].flatMap((s, i) => checkKeylessSource(policy, s.facts, attested, requestedCommit).map((c) => ({ ...c, name: many ? `${c.name}[${i + 1}]` : c.name })));
}
