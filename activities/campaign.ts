import { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { runsSignedBy } from '../src/client/pinned-runs';
import { CountersignError } from '../src/errors';
import { splitRepository, type StepDeps } from '../src/promotion/steps';
import { connectTemporalClient } from '../src/temporal/connect';
import type { TemporalTls } from '../src/temporal/connection';
import { authorizeCampaign, type CampaignAuthorizeInput } from '../src/trust/authorize-campaign';
import { runCampaignItem, type ItemDone, type ItemWork } from '../src/trust/campaign-item';
import { campaignFindings, MAX_CAMPAIGN_ITEMS, signedInRepository } from '../src/trust/campaign-items';
import type { CampaignFindings, CampaignPlan } from '../src/trust/campaign-plan';
import type { GovernanceDeps } from '../src/trust/governance';
import type { KeyCampaign, TrustKey } from '../src/trust/index-file';
import { indexSigningOptions } from '../src/trust/index-refresh';
import type { StoreLocation } from '../src/trust/plan';
import { TrustStore } from '../src/trust/store';
import { asActivity } from './failure';
import { whileHeartbeating } from './heartbeat';

export interface CampaignActivityDeps extends StepDeps {
  log?: Logger;
  /** The worker's own Temporal server: the promotions' results are read there. */
  temporal?: { address: string; namespace?: string; tls?: TemporalTls };
  /** The worker's configuration and earlier runs: campaign requests are checked against them. */
  authorize?: GovernanceDeps;
}

/** Compromise campaign activities over src/trust/campaign*.ts. */
export function createCampaignActivities(deps: CampaignActivityDeps) {
  const { log } = deps;
  const governance = (): GovernanceDeps => {
    if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
    return deps.authorize;
  };
  const withClient = async <T>(fn: (client: Client) => Promise<T>): Promise<T> => {
    if (!deps.temporal) throw new CountersignError('STACK_ERROR', 'this worker was started without a Temporal address for visibility');
    const connection = await connectTemporalClient(deps.temporal, { connectTimeout: '5s', purpose: 'for visibility' });
    try {
      return await fn(new Client({ connection, namespace: deps.temporal.namespace ?? 'default' }));
    } finally {
      await connection.close();
    }
  };
  return {
    /** Checks the signed campaign request against the worker's configuration and resolves the plan the campaign pins. */
    async authorizeCampaign(input: CampaignAuthorizeInput): Promise<CampaignPlan> {
      return asActivity(log, () => authorizeCampaign(governance(), input));
    },

    /** Every item the key signed: promotions' results in Temporal and signatures in the store's target repositories. */
    async findCampaignItems(plan: CampaignPlan): Promise<CampaignFindings> {
      return whileHeartbeating(() =>
        asActivity(log, async () => {
          const runs = await withClient((client) => runsSignedBy(client, plan.fingerprint, MAX_CAMPAIGN_ITEMS));
          const notes = runs.capped ? [`more than ${MAX_CAMPAIGN_ITEMS} runs signed with the key: run another campaign once this one is done`] : [];
          const scanned: Array<{ target: string; digest: string }> = [];
          for (const target of Object.values(plan.targets)) {
            const { host, path } = splitRepository(target.repository);
            const found = await signedInRepository(deps.storeFor(host), path, target.releaseTag, plan.publicKeyPem);
            if (found.capped) notes.push(`${target.repository}: only the first signature tags were read`);
            scanned.push(...found.digests.map((digest) => ({ target: target.target, digest })));
          }
          return campaignFindings(plan, runs.promotions, scanned, notes);
        }),
      );
    },

    /** Re-signs (after platform verify passes again) or quarantines one item; exactly once per (digest, key). */
    async runCampaignItem(work: ItemWork): Promise<ItemDone> {
      return whileHeartbeating((signal) => asActivity(log, () => runCampaignItem(deps, work, { signal })));
    },

    /** Writes the campaign and its outcome into the compromised key's index entry. */
    async recordCampaign(location: StoreLocation, keyId: string, campaign: KeyCampaign): Promise<TrustKey> {
      return asActivity(log, () => new TrustStore(location, indexSigningOptions(deps.authorize?.config()?.trust[location.name], deps.env ?? process.env)).recordCampaign(keyId, campaign));
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
