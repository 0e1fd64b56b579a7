/**
 * One item of a compromise campaign: an image the compromised key signed (a chart release's item
 * is src/trust/campaign-chart.ts's). Re-signing runs the
 * target's platform verify again (its policy and developer key as the worker's configuration gave
 * them) and signs with the store's active key only when every check passes, exactly once per
 * (digest, key) as production signing does; quarantine takes the release tag off the image. A
 * re-sign whose verify fails is never signed: it is quarantined or reported, as the store says.
 */
import { collectImageEvidence } from '../cosign/verify-image';
import { keyFingerprint } from '../keys/public-key';
import { productionSign, splitRepository, verifyForPlatform, type StepDeps } from '../promotion/steps';
import type { CampaignChartTarget, CampaignItem, CampaignPlan, CampaignSigningKey, CampaignTarget, ItemResult, QuarantineResult } from './campaign-plan';
import { runChartItem } from './campaign-chart';
import type { VerifyFailureAction } from './campaign-config';
import { quarantineRelease, type QuarantineWhy } from './quarantine';

export interface ItemWork {
  item: CampaignItem;
  /** The item's target as the plan pinned it; undefined for a `report` item. */
  target?: CampaignTarget;
  /** A chart item's chart target as the plan pinned it (an OpenPGP store's). */
  chart?: CampaignChartTarget;
  /** The compromised key's public key: an image without its signature is left unchanged. */
  compromisedKeyPem: string;
  /** Its fingerprint: a chart whose `.prov` another key signed is left unchanged. */
  compromisedFingerprint: string;
  signingKey?: CampaignSigningKey;
  onVerifyFailure: VerifyFailureAction;
  why: QuarantineWhy;
  /** Attached beside the new signature, signed by the active key: the campaign's decision record for this image. */
  record: unknown;
}

export type ItemDone = Omit<ItemResult, 'window' | 'at'>;

export async function runCampaignItem(deps: StepDeps, work: ItemWork, options: { signal?: AbortSignal } = {}): Promise<ItemDone> {
  const { item, target, chart } = work;
  if (item.action !== 'report' && chart) return runChartItem(deps, { ...work, chart });
  if (item.action === 'report' || !target) return { id: item.id, outcome: 'reported', detail: item.note ?? 'listed for a person to decide' };
  const { host, path } = splitRepository(target.repository);
  const store = deps.storeFor(host);
  const evidence = await collectImageEvidence(store, path, item.digest, work.compromisedKeyPem, { fallbackToo: true });
  if (evidence.signatures.legacy + evidence.signatures.bundle === 0) {
    return { id: item.id, outcome: 'unchanged', detail: `no signature by ${work.why.keyId} on ${item.digest} (its promotion stopped before it was written)` };
  }
  if (item.action === 'quarantine') {
    const q = await quarantineRelease(store, path, target.releaseTag, item.digest, work.why);
    return { id: item.id, outcome: 'quarantined', detail: `${tagWords(q)}: ${work.why.reason}` };
  }
  if (!work.signingKey) return { id: item.id, outcome: 'reported', detail: 'no active key to re-sign with' };
  const location = { repository: target.repository, digest: item.digest, signatureFormat: target.signatureFormat };
  const report = await reverify(deps, location, target);
  if (!report.ok) {
    const failed = report.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.message}`).join('; ');
    if (work.onVerifyFailure === 'report') return { id: item.id, outcome: 'reported', detail: `platform verify failed again, so it was not signed: ${failed}` };
    const q = await quarantineRelease(store, path, target.releaseTag, item.digest, { ...work.why, reason: `platform verify failed again: ${failed}`.slice(0, 1024) });
    return { id: item.id, outcome: 'quarantined', detail: `platform verify failed again, so it was not signed (${failed}); ${tagWords(q)}` };
  }
  const key = work.signingKey;
  const signed = await productionSign(deps, location, { ref: key.ref, passwordEnv: key.passwordEnv, fingerprint: key.fingerprint, trust: key.trust }, work.record, options);
  return {
    id: item.id,
    outcome: 'resigned',
    signatureAdded: signed.added,
    detail: `platform verify passed again (${report.checks.length} checks); signed with ${key.id} (${keyFingerprint(key.publicKeyPem).slice(0, 16)})${signed.added ? '' : ', whose signature was there already'}`,
  };
}

/**
 * The target's platform verify over the image's evidence as it stands. The commit an initiator
 * once asked for is not in the evidence and is not asked again: a policy that requires a commit
 * requires the provenance to name a full revision.
 */
async function reverify(deps: StepDeps, location: { repository: string; digest: string; signatureFormat: CampaignTarget['signatureFormat'] }, target: CampaignTarget) {
  const report = await verifyForPlatform(deps, location, target.developer.publicKeyPem, { ...target.policy, requireCommit: false }, undefined, target.developer.trust);
  if (target.policy.requireCommit) {
    const commit = report.facts?.commit;
    const ok = typeof commit === 'string' && /^(?:[0-9a-f]{40}|[0-9a-f]{64})$/i.test(commit);
    report.checks.push({ name: 'policy.commit', ok, code: ok ? 'OK' : 'POLICY_MISMATCH', message: ok ? `the provenance names commit ${commit}` : `the target requires a commit and the provenance names ${commit ? `"${commit}", not a full revision` : 'none'}` });
    report.ok = report.ok && ok;
  }
  return report;
}

function tagWords(q: QuarantineResult): string {
  if (q.tag === 'deleted') return `release tag ${q.reference} removed`;
  if (q.tag === 'notice') return `release tag ${q.reference} now names a quarantine notice`;
  if (q.tag === 'elsewhere') return `release tag ${q.reference} already names another image`;
  return `no release tag ${q.reference}`;
}

/**
 * What one item's step works from: the item, its target as the sealed plan pinned it, the keys,
 * and the decision record attached beside a new signature (why it was signed again, by whose
 * leave, when). Built by the step itself from sealed values, never taken from the workflow.
 */
export function campaignItemWork(plan: CampaignPlan, item: CampaignItem, campaign: { campaignId: string; runId: string; decisions: unknown[]; signedAt: string }): ItemWork {
  const target = Object.hasOwn(plan.targets, item.target) ? plan.targets[item.target] : undefined;
  const chart = plan.charts && Object.hasOwn(plan.charts, item.target) ? plan.charts[item.target] : undefined;
  return {
    item,
    ...(target ? { target } : {}),
    ...(chart ? { chart } : {}),
    compromisedKeyPem: plan.publicKeyPem,
    compromisedFingerprint: plan.fingerprint,
    ...(plan.signingKey ? { signingKey: plan.signingKey } : {}),
    onVerifyFailure: plan.onVerifyFailure,
    why: { reason: `signed by compromised key ${plan.keyId}: ${plan.reason}`, campaignId: campaign.campaignId, keyId: plan.keyId },
    record: {
      campaignId: campaign.campaignId,
      runId: campaign.runId,
      target: item.target,
      digest: item.digest,
      initiator: plan.requester,
      // When the production signature was requested: verifiers check the key was valid then (docs/trust.md).
      signedAt: campaign.signedAt,
      reason: plan.reason,
      compromisedKey: { id: plan.keyId, fingerprint: plan.fingerprint },
      policyDigest: plan.requestDigest,
      decisions: campaign.decisions,
    },
  };
}
