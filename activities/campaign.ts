import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { runsSignedBy } from '../src/client/pinned-runs';
import { CountersignError } from '../src/errors';
import { splitRepository, type StepDeps } from '../src/promotion/steps';
import { authorizeCampaign, type CampaignAuthorizeInput } from '../src/trust/authorize-campaign';
import { campaignItemWork, runCampaignItem, type ItemDone } from '../src/trust/campaign-item';
import { checkApprovalRecord } from '../src/approval/record-check';
import type { SealKeyring } from '../src/seal/keyring';
import type { Sealed } from '../src/seal/seal';
import { GOVERNANCE_SEALS, type RecordedVote } from '../src/trust/plan';
import { sealing, type SealedInRun } from './sealing';
import { campaignFindings, MAX_CAMPAIGN_ITEMS, signedInRepository, type SignedRun } from '../src/trust/campaign-items';
import { readSealedChartPlan } from '../src/client/chart-record';
import { chartReleaseOf } from '../src/trust/campaign-release';
import { chartsSignedInRepository } from '../src/trust/campaign-chart';
import type { CampaignFindings, CampaignPlan } from '../src/trust/campaign-plan';
import type { GovernanceDeps } from '../src/trust/governance';
import type { KeyCampaign, TrustKey } from '../src/trust/index-file';
import { indexSigningOptions } from '../src/trust/index-refresh';
import { TrustStore } from '../src/trust/store';
import { asActivity } from './failure';
import { withVisibilityClient, type VisibilityTarget } from './visibility';
import { whileHeartbeating } from './heartbeat';

export interface CampaignActivityDeps extends StepDeps {
  log?: Logger;
  /** The worker's own Temporal server: the promotions' results are read there. */
  temporal?: VisibilityTarget;
  /** The worker's configuration and earlier runs: campaign requests are checked against them. */
  authorize?: GovernanceDeps;
  /** The seal key workers share (src/seal/keyring.ts), opened on first use. */
  seal?: () => SealKeyring;
}

/** Compromise campaign activities over src/trust/campaign*.ts. */
export function createCampaignActivities(deps: CampaignActivityDeps) {
  const { log } = deps;
  const sealed = sealing(deps.seal);
  const sealKeyring = (): SealKeyring => {
    if (!deps.seal) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker) and so no seal key: it acts on no plan');
    return deps.seal();
  };
  const openPlan = (run: SealedInRun<CampaignPlan>) => sealed.openPlan(GOVERNANCE_SEALS.campaignPlan, run, 'key campaign plan');
  const governance = (): GovernanceDeps => {
    if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
    return deps.authorize;
  };
  const withClient = <T>(fn: (client: Client) => Promise<T>) => withVisibilityClient(deps.temporal, fn);
  /** A chart run with the release its own sealed plan names (src/trust/campaign-release.ts), or a note why not. */
  const withRelease = async (client: Client, r: SignedRun, notes: string[]): Promise<SignedRun> => {
    let record;
    try {
      record = await readSealedChartPlan(client, r.promotionId);
    } catch (err) {
      // A run past retention is noted; a server that did not answer is retried.
      if ((err as Error).name !== 'WorkflowNotFoundError') throw err;
      notes.push(`chart release ${r.promotionId.slice(0, 200)}: ${(err as Error).message.slice(0, 512)}`);
      return r;
    }
    const { release, note } = chartReleaseOf(sealKeyring(), r, record);
    if (note) notes.push(note);
    return release ? { ...r, release } : r;
  };
  return {
    /** Checks the signed campaign request against the worker's configuration and resolves the plan the campaign pins. */
    async authorizeCampaign(input: CampaignAuthorizeInput): Promise<Sealed<CampaignPlan>> {
      return asActivity(log, async () => sealed.seal(GOVERNANCE_SEALS.campaignPlan, input.runId, await authorizeCampaign(governance(), input)));
    },

    /** Every item the key signed: promotions' and chart releases' results in Temporal, signatures in the store's target repositories, .prov files in its chart repositories. */
    async findCampaignItems(run: SealedInRun<CampaignPlan>): Promise<Sealed<CampaignFindings>> {
      return whileHeartbeating(() =>
        asActivity(log, async () => {
          const plan = openPlan(run);
          const runs = await withClient((client) => runsSignedBy(client, plan.fingerprint, MAX_CAMPAIGN_ITEMS));
          const notes = runs.capped ? [`more than ${MAX_CAMPAIGN_ITEMS} runs signed with the key: run another campaign once this one is done`] : [];
          const signed: SignedRun[] = [];
          for (const r of runs.promotions) {
            if (!r.target.startsWith('chart:')) signed.push(r);
            else signed.push(await withClient((client) => withRelease(client, r, notes)));
          }
          const scanned: Array<{ target: string; digest: string }> = [];
          for (const target of Object.values(plan.targets)) {
            const { host, path } = splitRepository(target.repository);
            const found = await signedInRepository(deps.storeFor(host), path, target.releaseTag, plan.publicKeyPem);
            if (found.capped) notes.push(`${target.repository}: only the first signature tags were read`);
            scanned.push(...found.digests.map((digest) => ({ target: target.target, digest })));
          }
          // An OpenPGP store's charts: each chart target's repository, whose .prov files say who signed them.
          for (const chart of Object.values(plan.charts ?? {})) {
            if (chart.repositoryDir) scanned.push(...(await chartsSignedInRepository(chart.repositoryDir, plan.fingerprint)).map((digest) => ({ target: chart.target, digest })));
          }
          return sealed.seal(GOVERNANCE_SEALS.campaignFindings, run.runId, campaignFindings(plan, signed, scanned, notes));
        }),
      );
    },

    /** Re-signs (after platform verify passes again) or quarantines one item; exactly once per (digest, key). */
    async runCampaignItem(run: SealedInRun<CampaignPlan>, findings: Sealed<CampaignFindings>, itemId: string, decisions: RecordedVote[]): Promise<ItemDone> {
      return whileHeartbeating((signal) =>
        asActivity(log, () => {
          const plan = openPlan(run);
          const found = sealed.open(GOVERNANCE_SEALS.campaignFindings, run.runId, findings, 'campaign findings');
          const item = found.items.find((i) => i.id === itemId);
          if (!item) throw new CountersignError('SEAL_INVALID', `item ${itemId.slice(0, 128)} is not among the campaign's sealed findings: refusing to act on it`);
          const campaignId = sealed.ownWorkflowId();
          // The approvers approved the sealed list (its digest); their statements are checked again before anything changes.
          checkApprovalRecord({ workflowId: campaignId, runId: run.runId, plan: { digest: found.planDigest, approval: plan.approvers, initiator: plan.requester } }, decisions);
          return runCampaignItem(deps, campaignItemWork(plan, item, { campaignId, runId: run.runId, decisions, signedAt: new Date().toISOString() }), { signal });
        }),
      );
    },

    /** Writes the campaign and its outcome into the compromised key's index entry. */
    async recordCampaign(run: SealedInRun<CampaignPlan>, campaign: KeyCampaign): Promise<TrustKey> {
      return asActivity(log, () => {
        const { location, keyId } = openPlan(run);
        return new TrustStore(location, indexSigningOptions(deps.authorize?.config()?.trust[location.name], deps.env ?? process.env)).recordCampaign(keyId, campaign);
      });
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
