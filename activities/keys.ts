import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import { authorizeCeremony, type CeremonyAuthorizeInput } from '../src/trust/authorize-ceremony';
import { authorizeRevocation, type RevocationAuthorizeInput } from '../src/trust/authorize-revocation';
import { createKey, type CreatedKey, type KeyRequest } from '../src/trust/create-key';
import type { GovernanceDeps } from '../src/trust/governance';
import type { KeyIssuance, KeyRevocation, TrustKey } from '../src/trust/index-file';
import { GOVERNANCE_SEALS, type CeremonyPlan, type RecordedVote, type RevocationPlan, type StoreLocation } from '../src/trust/plan';
import { checkApprovalRecord } from '../src/approval/record-check';
import type { SealKeyring } from '../src/seal/keyring';
import type { Sealed } from '../src/seal/seal';
import { runsPinnedTo } from '../src/client/pinned-runs';
import { publishKey, type Published } from '../src/trust/publish';
import { revokeStoreKey, type Revoked } from '../src/trust/revoke';
import { TrustStore } from '../src/trust/store';
import { indexSigningOptions } from '../src/trust/index-refresh';
import { CountersignError } from '../src/errors';
import { asActivity } from './failure';
import { withVisibilityClient, type VisibilityTarget } from './visibility';
import { sealing, type SealedInRun } from './sealing';

export interface KeyActivityDeps {
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Where visibility is asked about pinned promotions (the worker's own server). */
  temporal?: VisibilityTarget;
  /** The worker's configuration and earlier runs: ceremony and revocation requests are checked against them. */
  authorize?: GovernanceDeps;
  /** The seal key workers share (src/seal/keyring.ts), opened on first use. */
  seal?: () => SealKeyring;
}

/** What a ceremony published, sealed: a rotation retires only keys a sealed publication made retiring. */
export type Publication = Published & { location: StoreLocation };

/** Approvals among `votes` after they were checked against the plan's gate. */
const approversOf = (votes: RecordedVote[]) => votes.filter((v) => v.decision === 'approve').map((v) => v.approver);

/** Key ceremony, rotation and revocation activities over src/trust. */
export function createKeyActivities(deps: KeyActivityDeps) {
  const { log } = deps;
  const withClient = <T>(fn: (client: Client) => Promise<T>) => withVisibilityClient(deps.temporal, fn);
  // The index is signed with the key the worker's configuration gives the store now.
  const storeOptions = (location: StoreLocation) => indexSigningOptions(deps.authorize?.config()?.trust[location.name], deps.env ?? process.env);
  const sealed = sealing(deps.seal);
  const governance = (): GovernanceDeps => {
    if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
    return deps.authorize;
  };
  return {
    /** Checks the signed ceremony request against the worker's configuration and resolves the plan the ceremony pins. */
    async authorizeCeremony(input: CeremonyAuthorizeInput): Promise<Sealed<CeremonyPlan>> {
      return asActivity(log, async () => sealed.seal(GOVERNANCE_SEALS.ceremonyPlan, input.runId, await authorizeCeremony(governance(), input)));
    },

    /** Checks the signed revocation request against the worker's configuration and resolves the plan the revocation pins. */
    async authorizeRevocation(input: RevocationAuthorizeInput): Promise<Sealed<RevocationPlan>> {
      return asActivity(log, async () => sealed.seal(GOVERNANCE_SEALS.revocationPlan, input.runId, await authorizeRevocation(governance(), input)));
    },

    /** Makes the key the sealed plan describes, named after the ceremony; the result is sealed for publication. */
    async createCeremonyKey(run: SealedInRun<CeremonyPlan>): Promise<Sealed<CreatedKey>> {
      return asActivity(log, async () => {
        const plan = sealed.openPlan(GOVERNANCE_SEALS.ceremonyPlan, run, 'key ceremony plan');
        const request: KeyRequest = { kind: plan.kind, backend: plan.backend, name: sealed.ownWorkflowId(), ...(plan.userId ? { userId: plan.userId } : {}) };
        return sealed.seal(GOVERNANCE_SEALS.createdKey, run.runId, await createKey(request, deps.env ?? process.env));
      });
    },

    /**
     * Publishes the key this ceremony made, once the custodians' votes hold against the sealed
     * plan; `earlier` says so when another run of the ceremony id published it before (nothing is made again).
     */
    async publishCeremonyKey(run: SealedInRun<CeremonyPlan>, created: Sealed<CreatedKey>, votes: RecordedVote[]): Promise<Sealed<Publication>> {
      return asActivity(log, async () => {
        const plan = sealed.openPlan(GOVERNANCE_SEALS.ceremonyPlan, run, 'key ceremony plan');
        const key = sealed.open(GOVERNANCE_SEALS.createdKey, run.runId, created, 'created key');
        const ceremony = sealed.ownWorkflowId();
        checkApprovalRecord({ workflowId: ceremony, runId: run.runId, plan: { digest: plan.planDigest, approval: plan.custodians, initiator: plan.initiator } }, votes);
        const issuance: Omit<KeyIssuance, 'at'> = { requester: plan.initiator, custodians: approversOf(votes), workflowId: ceremony, runId: run.runId };
        const published = await publishKey(plan.location, key, { ceremony, overlapMs: plan.overlapMs, issuance, store: storeOptions(plan.location) });
        return sealed.seal(GOVERNANCE_SEALS.publication, run.runId, { ...published, location: plan.location });
      });
    },

    /** How many promotions (cosign key) or chart releases (OpenPGP key) are still running pinned to this fingerprint. */
    async countPinnedInFlight(fingerprint: string): Promise<number> {
      return asActivity(log, async () => withClient(async (client) => (await runsPinnedTo(client, fingerprint)).length));
    },

    /** Retires a key the ceremony's sealed publication made retiring (the rotation's ceremony is a child: its id and run are named). */
    async retireKey(ceremony: { workflowId: string; runId: string; publication: Sealed<Publication> }, id: string, reason: string): Promise<TrustKey> {
      return asActivity(log, async () => {
        const publication = sealed.open(GOVERNANCE_SEALS.publication, ceremony.runId, ceremony.publication, 'ceremony publication', ceremony.workflowId);
        if (!publication.retiring.some((k) => k.id === id)) {
          throw new CountersignError('SEAL_INVALID', `key ${id} is not one that ceremony ${ceremony.workflowId} made retiring (${publication.retiring.map((k) => k.id).join(', ') || 'none'}): refusing to retire it`);
        }
        const location = publication.location;
        const store = new TrustStore(location, storeOptions(location));
        const key = store.ownKeys(await store.index()).find((k) => k.id === id);
        // Revoked (or already retired) meanwhile: nothing left to do.
        if (key && (key.status === 'revoked' || key.status === 'retired')) return key;
        return store.setStatus(id, 'retired', reason);
      });
    },

    /** Revokes the key in the index, lays its tombstone, and disables it in KMS when the plan says so. */
    async revokeTrustKey(run: SealedInRun<RevocationPlan>, votes: RecordedVote[], at: string): Promise<Revoked> {
      return asActivity(log, () => {
        const plan = sealed.openPlan(GOVERNANCE_SEALS.revocationPlan, run, 'key revocation plan');
        const workflowId = sealed.ownWorkflowId();
        // Co-signers count only when their statements hold against the sealed plan's gate.
        if (plan.required > 1 && !plan.alreadyRevoked) {
          checkApprovalRecord({ workflowId, runId: run.runId, plan: { digest: plan.requestDigest, approval: plan.cosigners, initiator: plan.requester } }, votes);
        }
        const revocation: KeyRevocation = { signers: [plan.requester, ...approversOf(votes)], at, reason: plan.reason, workflowId };
        return revokeStoreKey(plan.location, plan.keyId, plan.fingerprint, revocation, { store: storeOptions(plan.location), disableKmsKey: plan.disableKmsKey, env: deps.env ?? process.env });
      });
    },
  };
}

export type KeyActivities = ReturnType<typeof createKeyActivities>;
