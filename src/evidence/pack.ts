/**
 * The evidence pack: what an approver decides on, gathered from the run's own record (plan,
 * verification report) and the registry (signed provenance and SBOM of the image and of the
 * release it is compared with). Its digest is the sha256 of its canonical JSON; votes and the
 * timeline are shown beside it but are not part of it, so a vote arriving never changes it.
 * The console, `countersign evidence` and the workflow's evidence step (activities/promotion.ts)
 * all build it here, so the digest an approver signs over is the one the gate checks.
 */
import { createHash } from 'node:crypto';
import type { PromotionRecord } from '../client/promotion-record';
import type { PromotionPlan } from '../promotion/plan';
import type { VerificationReport } from '../promotion/steps';
import { CountersignError } from '../errors';
import type { Store } from '../oci/store';
import { splitRepository } from '../promotion/steps';
import type { BuildFacts } from '../provenance/slsa';
import { canonicalJson } from '../requests/statement';
import type { TargetPolicy } from '../policy/policy';
import { diffSbom, type SbomChanges } from './sbom-diff';
import { readSignedImageEvidence, tagDigest } from './image-evidence';

export const EVIDENCE_PACK_TYPE = 'https://countersign.dev/evidence-pack/v1';

/** The facts an approver compares, in the order a page shows them. */
export const FACT_NAMES = ['sourceRepo', 'commit', 'ref', 'builderId', 'buildCommand', 'commitAuthor'] as const;

export interface EvidencePack {
  _type: typeof EVIDENCE_PACK_TYPE;
  promotionId: string;
  runId: string;
  artifact: { target: string; repository: string; digest: string; source: 'directory' | 'image' };
  checks: Array<{ name: string; ok: boolean; message: string }>;
  notices: string[];
  provenance: {
    /** What platform verify judged (its report), beside every provenance the developer key signed on the digest. */
    candidate: { judged?: Partial<BuildFacts>; signed: Array<Partial<BuildFacts>> };
    /** What the release tag points at now, and the provenance the developer key signed for it. */
    released: { tag: string; digest?: string; signed: Array<Partial<BuildFacts>>; note?: string };
  };
  sbom: { changes?: SbomChanges; note?: string };
  /** The policy in force, as the run pinned it. */
  policy: {
    digest: string;
    rules: TargetPolicy;
    approval: {
      groups: Array<{ name: string; members: string[]; required: number }>;
      vetoOnReject: boolean;
      deadlineMs: number;
      roster: Array<{ name: string; fingerprint: string }>;
    };
    keys: { developer: string; platform: string };
  };
  /** sha256 of every distinct statement the developer key signed on the digest. */
  attestations: string[];
}

export interface EvidenceDeps {
  storeFor(registryHost: string): Store;
}

/**
 * The release a pack compares with. The gate pins it when it opens (what the release tag pointed
 * at then, `digest` absent when the tag did not exist) and every later pack of the run uses the
 * pin: the tag is writable by anyone who can push to the registry, and were it read afresh each
 * time, such a pusher could drop every counted vote by moving it (docs/approvals.md).
 */
export interface ReleasePin {
  digest?: string;
}

/** What a pack is built from: the run's identity, its pinned plan and platform verify's report. */
export interface PackSource {
  promotionId: string;
  runId: string;
  plan: PromotionPlan;
  report: VerificationReport;
}

/**
 * Assembles the pack of a promotion that has passed platform verify. Before that there is nothing
 * to decide on: EVIDENCE_NOT_READY names the state it is in. With `release`, the gate's pin (from
 * the run's status), the release compared with is that digest; without, what the tag points at now.
 */
export async function assembleEvidencePack(deps: EvidenceDeps, record: PromotionRecord, release?: ReleasePin): Promise<EvidencePack> {
  const { status, plan, report } = record;
  if (!plan || !report) {
    throw new CountersignError('EVIDENCE_NOT_READY', `${status.promotionId} is ${status.state}: its evidence is complete once platform verify has run`);
  }
  return assemblePack(deps, { promotionId: status.promotionId, runId: record.firstRunId, plan, report }, release ?? status.approval?.evidence?.release);
}

/** The pack of `source`; see assembleEvidencePack for `release`. */
export async function assemblePack(deps: EvidenceDeps, source: PackSource, release?: ReleasePin): Promise<EvidencePack> {
  const { plan, report } = source;
  const { host, path } = splitRepository(plan.repository);
  const store = deps.storeFor(host);
  const developerKey = plan.keys.developer.publicKeyPem;
  // The candidate's evidence and the release's are read side by side (reads only).
  const readRelease = async () => {
    const releasedDigest = release ? release.digest : await tagDigest(store, path, plan.releaseTag);
    const released = releasedDigest && releasedDigest !== plan.digest ? await readSignedImageEvidence(store, path, releasedDigest, developerKey) : undefined;
    return { releasedDigest, released };
  };
  const [candidate, { releasedDigest, released }] = await Promise.all([readSignedImageEvidence(store, path, plan.digest, developerKey), readRelease()]);
  const releaseNote = !releasedDigest
    ? `nothing is released yet: ${plan.repository}:${plan.releaseTag} does not exist`
    : releasedDigest === plan.digest
      ? 'the release tag already points at this digest'
      : released!.provenance.length === 0
        ? `the release carries no provenance signed by the developer key ${plan.keys.developer.fingerprint.slice(0, 16)}`
        : undefined;
  let sbom: EvidencePack['sbom'];
  if (!candidate.sbom) sbom = { note: 'no SBOM signed by the developer key on this digest' };
  else if (released && !released.sbom) sbom = { changes: diffSbom(candidate.sbom, undefined), note: 'the release carries no signed SBOM: every entry is listed as added' };
  else sbom = { changes: diffSbom(candidate.sbom, released?.sbom), ...(candidate.sboms > 1 ? { note: `${candidate.sboms} different SBOMs are signed on this digest; the first is compared` } : {}) };
  return {
    _type: EVIDENCE_PACK_TYPE,
    promotionId: source.promotionId,
    runId: source.runId,
    artifact: { target: plan.target, repository: plan.repository, digest: plan.digest, source: plan.source.kind },
    checks: report.checks.map(({ name, ok, message }) => ({ name, ok, message })),
    notices: report.notices ?? [],
    provenance: {
      candidate: { ...(report.facts ? { judged: report.facts } : {}), signed: candidate.provenance },
      released: { tag: plan.releaseTag, ...(releasedDigest ? { digest: releasedDigest } : {}), signed: released?.provenance ?? [], ...(releaseNote ? { note: releaseNote } : {}) },
    },
    sbom,
    policy: {
      digest: plan.policyDigest,
      rules: plan.policy,
      approval: approvalPolicyView(plan.approval),
      keys: { developer: plan.keys.developer.fingerprint, platform: plan.keys.platform.fingerprint },
    },
    attestations: candidate.statementDigests,
  };
}

/** sha256:<hex> of the pack's canonical JSON. */
export function evidencePackDigest(pack: EvidencePack): string {
  return `sha256:${createHash('sha256').update(canonicalJson(pack)).digest('hex')}`;
}

/** The pinned approval policy as a pack shows it: groups, veto, deadline and each approver's key fingerprints. */
export function approvalPolicyView(approval: {
  groups: Array<{ name: string; members: string[]; required: number }>;
  vetoOnReject: boolean;
  deadlineMs: number;
  roster: Record<string, { fingerprint?: string; passkeys?: Array<{ fingerprint: string }> }>;
}): EvidencePack['policy']['approval'] {
  return {
    groups: approval.groups.map((g) => ({ name: g.name, members: g.members, required: g.required })),
    vetoOnReject: approval.vetoOnReject,
    deadlineMs: approval.deadlineMs,
    roster: Object.entries(approval.roster)
      .map(([name, entry]) => ({ name, fingerprint: entry.fingerprint ?? entry.passkeys?.map((p) => p.fingerprint).join(', ') ?? '' }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  };
}
