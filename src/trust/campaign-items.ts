/**
 * What a compromised key signed, from both decision records: the promotions (and chart releases)
 * whose results in Temporal say its signature was written, and the signatures by it found in each
 * of the store's target repositories (which outlive Temporal's retention). Merged into one item
 * per target and digest, each with the action the worker's configuration gives its target.
 */
import crypto from 'node:crypto';
import type { SignedPromotion } from '../client/pinned-runs';
import { collectImageEvidence } from '../cosign/verify-image';
import type { Store } from '../oci/store';
import { canonicalJson } from '../requests/statement';
import type { CampaignChartRelease, CampaignFindings, CampaignItem, CampaignPlan } from './campaign-plan';

/** A run the key signed; a chart release's carries its name, version and OCI namespace when its sealed plan gave them. */
export type SignedRun = SignedPromotion & { release?: CampaignChartRelease };

/** The most items one campaign holds; its history and report stay a few hundred kilobytes. */
export const MAX_CAMPAIGN_ITEMS = 1000;
/** The most candidate digests read from one repository's tags. */
export const MAX_SCANNED_DIGESTS = 5000;

/** Digests in `path` that carry a signature by the key: every `sha256-<hex>[.sig]` tag's digest, and what the release tag names. */
export async function signedInRepository(store: Store, path: string, releaseTag: string, publicKeyPem: string): Promise<{ digests: string[]; capped: boolean }> {
  const tags = await store.listTags(path);
  const candidates = new Set<string>();
  for (const tag of tags) {
    const m = /^sha256-([0-9a-f]{64})(\.sig)?$/.exec(tag);
    if (m) candidates.add(`sha256:${m[1]}`);
  }
  // With the Referrers API a bundle-signed image may have no fallback tag: the release tag names it.
  if (tags.includes(releaseTag)) {
    const released = await store.getManifest(path, releaseTag);
    if (released) candidates.add(released.digest);
  }
  const list = [...candidates].sort();
  const digests: string[] = [];
  for (const digest of list.slice(0, MAX_SCANNED_DIGESTS)) {
    // Every signature the key made, wherever a tool listed it: the fallback tag too.
    const { signatures } = await collectImageEvidence(store, path, digest, publicKeyPem, { fallbackToo: true });
    if (signatures.legacy + signatures.bundle > 0) digests.push(digest);
  }
  return { digests, capped: list.length > MAX_SCANNED_DIGESTS };
}

/**
 * One item per target and digest. A run whose target (or chart target) the configuration no
 * longer has is listed with action `report`: a person decides.
 */
export function mergeItems(plan: CampaignPlan, runs: SignedRun[], scanned: Array<{ target: string; digest: string }>): CampaignItem[] {
  const items = new Map<string, CampaignItem>();
  const add = (target: string, digest: string, source: 'temporal' | 'registry', run?: string, release?: CampaignChartRelease) => {
    const id = `${target}@${digest}`;
    let item = items.get(id);
    if (!item) {
      const image = Object.hasOwn(plan.targets, target) ? plan.targets[target] : undefined;
      const chart = plan.charts && Object.hasOwn(plan.charts, target) ? plan.charts[target] : undefined;
      const configured = image ?? chart;
      const kind = target.startsWith('chart:') ? 'chart target' : 'target';
      item = {
        id,
        target,
        repository: image?.repository ?? chart?.repositoryDir ?? chart?.oci ?? '',
        digest,
        action: configured?.action ?? 'report',
        ...(configured ? {} : { note: `${kind} ${target.replace(/^chart:/, '')} is not in the worker's configuration any more (or does not sign with trust store ${plan.trust})` }),
        found: [],
        runs: [],
      };
      items.set(id, item);
    }
    if (!item.found.includes(source)) item.found.push(source);
    if (run && !item.runs.includes(run)) item.runs.push(run);
    // Runs of one archive name the same chart; the first run (by id) keeps the listing stable.
    if (release && (!item.release || release.releaseId < item.release.releaseId)) item.release = release;
  };
  for (const r of runs) add(r.target, r.digest, 'temporal', r.promotionId, r.release);
  for (const s of scanned) add(s.target, s.digest, 'registry');
  return [...items.values()].sort((a, b) => a.id.localeCompare(b.id));
}

/** The digest approvers' statements name: the request, the key, every item with its action, and the failure policy. */
export function findingsDigest(plan: CampaignPlan, items: CampaignItem[]): string {
  const what = {
    request: plan.requestDigest,
    key: plan.fingerprint,
    signingKey: plan.signingKey?.fingerprint ?? null,
    onVerifyFailure: plan.onVerifyFailure,
    // A chart release's name, version and OCI namespace say where the campaign acts: approvers approve them too.
    items: items.map((i) => ({ id: i.id, repository: i.repository, action: i.action, ...(i.release ? { release: i.release } : {}) })),
  };
  return `sha256:${crypto.createHash('sha256').update(canonicalJson(what)).digest('hex')}`;
}

/** The findings, capped at MAX_CAMPAIGN_ITEMS (the report says so). */
export function campaignFindings(plan: CampaignPlan, runs: SignedRun[], scanned: Array<{ target: string; digest: string }>, notes: string[]): CampaignFindings {
  const all = mergeItems(plan, runs, scanned);
  const items = all.slice(0, MAX_CAMPAIGN_ITEMS);
  return { items, planDigest: findingsDigest(plan, items), capped: all.length > items.length, notes };
}
