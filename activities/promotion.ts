import type { BuildFacts } from '../src/provenance/slsa';
import type { TargetPolicy } from '../src/policy/policy';
import type { Logger } from 'pino';
import * as steps from '../src/promotion/steps';
import { authorizePromotion, type AuthorizeDeps, type AuthorizeInput } from '../src/promotion/authorize';
import type { PromotionPlan } from '../src/promotion/plan';
import type { KeyTrust } from '../src/promotion/plan';
import type { KeylessPin } from '../src/sigstore/pin';
import { asActivity } from './failure';
import { whileHeartbeating } from './heartbeat';
import { CountersignError } from '../src/errors';

export type { BuildOutcome, AttestOutcome, VerificationReport } from '../src/promotion/steps';

/** Promotion activities over src/promotion/steps; `deps` gives them the store and environment. */
export function createPromotionActivities(deps: steps.StepDeps & { log?: Logger; authorize?: AuthorizeDeps }) {
  const { log } = deps;
  return {
    /** Checks the signed start request against the worker's configuration and resolves the plan the run pins. */
    async authorize(input: AuthorizeInput): Promise<PromotionPlan> {
      return asActivity(log, () => {
        if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
        return authorizePromotion(deps.authorize, input);
      });
    },

    async checkKeys(keys: Array<{ role: string; ref: string; passwordEnv: string; fingerprint: string }>): Promise<{ checked: string[] }> {
      return asActivity(log, () => steps.checkSigningKeys(deps, keys));
    },

    async build(directory: string, target: steps.ImageLocation): Promise<steps.BuildOutcome> {
      return whileHeartbeating(() => asActivity(log, () => steps.buildAndPush(deps, directory, target)));
    },

    async resolveImage(target: steps.ImageLocation): Promise<void> {
      return whileHeartbeating(() => asActivity(log, () => steps.resolveImage(deps, target)));
    },

    /** Attest by digest: the SBOM lists what the pushed image holds (no second build). */
    async attestImage(target: steps.ImageLocation, facts: BuildFacts & { invocationId: string; startedOn: string; finishedOn: string }): Promise<steps.AttestOutcome> {
      return whileHeartbeating(() => asActivity(log, () => steps.attestPushedImage(deps, target, facts)));
    },

    async devSign(
      target: steps.ImageLocation,
      key: { ref: string; passwordEnv: string },
      statements: string[],
    ): Promise<{ signatureAdded: boolean; attestationsAdded: number }> {
      return whileHeartbeating(() => asActivity(log, () => steps.developerSign(deps, target, key, statements)));
    },

    async platformVerify(
      target: steps.ImageLocation,
      developerPublicKeyPem: string,
      policy: TargetPolicy,
      requestedCommit: string | undefined,
      developerTrust?: KeyTrust,
      thisRunsInvocation?: string,
      keyless?: KeylessPin,
    ): Promise<steps.VerificationReport> {
      return whileHeartbeating(() => asActivity(log, () => steps.verifyForPlatform(deps, target, developerPublicKeyPem, policy, requestedCommit, developerTrust, thisRunsInvocation, keyless)));
    },

    async prodSign(
      target: steps.ImageLocation,
      key: { ref: string; passwordEnv: string; fingerprint: string },
      approvalRecord?: unknown,
    ): Promise<{ added: boolean; keyFingerprint: string; approvalRecordAdded?: boolean }> {
      return whileHeartbeating((signal) => asActivity(log, () => steps.productionSign(deps, target, key, approvalRecord, { signal })));
    },

    async release(target: steps.ImageLocation, tag: string): Promise<{ reference: string }> {
      return whileHeartbeating(() => asActivity(log, () => steps.release(deps, target, tag)));
    },
  };
}

export type PromotionActivities = ReturnType<typeof createPromotionActivities>;
