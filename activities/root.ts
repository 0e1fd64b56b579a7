import type { Logger } from 'pino';
import { checkApprovalRecord } from '../src/approval/record-check';
import { CountersignError } from '../src/errors';
import type { SealKeyring } from '../src/seal/keyring';
import type { Sealed } from '../src/seal/seal';
import { authorizeRoot, ROOT_PLAN_SEAL, type RootAuthorizeInput, type RootPlan } from '../src/trust/authorize-root';
import type { GovernanceDeps } from '../src/trust/governance';
import type { RecordedVote } from '../src/trust/plan';
import { publishRoot, type PublishedRoot } from '../src/trust/publish-root';
import { asActivity } from './failure';
import { sealing, type SealedInRun } from './sealing';

export interface RootActivityDeps {
  log?: Logger;
  /** The worker's configuration and earlier runs: root requests are checked against them. */
  authorize?: GovernanceDeps;
  seal?: () => SealKeyring;
}

/** The root's two steps: the worker drafts the root (sealed), and publishes it once its signers' statements hold. */
export function createRootActivities(deps: RootActivityDeps) {
  const { log } = deps;
  const sealed = sealing(deps.seal);
  return {
    /** Checks the signed root request against the worker's configuration and drafts the root the run pins. */
    async authorizeRoot(input: RootAuthorizeInput): Promise<Sealed<RootPlan>> {
      return asActivity(log, async () => {
        if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
        return sealed.seal(ROOT_PLAN_SEAL, input.runId, await authorizeRoot(deps.authorize, input));
      });
    },

    /** Publishes the sealed draft with the signers' statements, after checking them against the sealed plan's gate. */
    async publishTrustRoot(run: SealedInRun<RootPlan>, votes: RecordedVote[]): Promise<PublishedRoot> {
      return asActivity(log, async () => {
        const plan = sealed.openPlan(ROOT_PLAN_SEAL, run, 'trust root plan');
        checkApprovalRecord({ workflowId: sealed.ownWorkflowId(), runId: run.runId, plan: { digest: plan.digest, approval: plan.signers, initiator: '' } }, votes);
        return publishRoot(plan, votes);
      });
    },
  };
}

export type RootActivities = ReturnType<typeof createRootActivities>;
