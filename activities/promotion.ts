import type { Logger } from 'pino';
import { checkApprovalRecord } from '../src/approval/record-check';
import { assemblePack, evidencePackDigest } from '../src/evidence/pack';
import { CountersignError } from '../src/errors';
import { authorizePromotion, type AuthorizeDeps, type AuthorizeInput } from '../src/promotion/authorize';
import { PROMOTION_SEALS, imageOf, signingKeyOf, type PlanInRun, type PromotionPlan, type SealedPlan } from '../src/promotion/plan';
import * as steps from '../src/promotion/steps';
import type { SealKeyring } from '../src/seal/keyring';
import type { Sealed } from '../src/seal/seal';
import { asActivity } from './failure';
import { whileHeartbeating } from './heartbeat';
import { sealing } from './sealing';

export type { BuildOutcome, AttestOutcome, VerificationReport } from '../src/promotion/steps';

/** What the evidence step read: the pack's digest, the release it compares with (pinned at the first read), how many attestations. */
export interface EvidenceCheck {
  digest: string;
  release: { digest?: string };
  attestations: number;
}

export interface PromotionActivityDeps extends steps.StepDeps {
  log?: Logger;
  authorize?: AuthorizeDeps;
  /** The seal key workers share (src/seal/keyring.ts), opened on first use. */
  seal?: () => SealKeyring;
}

/** The invocation facts of this run's build, as the workflow knows them. */
export interface InvocationFacts {
  invocationId: string;
  startedOn: string;
  finishedOn: string;
}

/**
 * Promotion activities over src/promotion/steps. Authorize seals the plan it resolves; every later
 * step takes that sealed plan and checks the seal before it reads, builds or signs anything, so a
 * plan (or an attestation list, or a verification report) written into history by anyone but a
 * worker's own step is refused (docs/security.md, "Sealed plans").
 */
export function createPromotionActivities(deps: PromotionActivityDeps) {
  const { log } = deps;
  const sealed = sealing(deps.seal);
  const openPlan = (run: PlanInRun): PromotionPlan => sealed.openPlan(PROMOTION_SEALS.plan, run, 'promotion plan');

  return {
    /** Checks the signed start request against the worker's configuration and resolves the plan the run pins, sealed. */
    async authorize(input: AuthorizeInput): Promise<SealedPlan> {
      return asActivity(log, async () => {
        if (!deps.authorize) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker): it starts nothing');
        const plan = await authorizePromotion(deps.authorize, input);
        return sealed.seal(PROMOTION_SEALS.plan, input.runId, plan);
      });
    },

    /** Opens each signing key the plan names and matches it to the pinned fingerprint. */
    async checkKeys(run: PlanInRun): Promise<{ checked: string[] }> {
      return asActivity(log, () => {
        const plan = openPlan(run);
        const needed = [{ role: 'platform', ...signingKeyOf(plan, 'platform') }];
        // A keyless developer signature needs no key: its certificate is made when it signs.
        if (plan.source.kind === 'directory' && !plan.keyless?.sign) needed.unshift({ role: 'developer', ...signingKeyOf(plan, 'developer') });
        return steps.checkSigningKeys(deps, needed);
      });
    },

    async build(run: PlanInRun): Promise<steps.BuildOutcome> {
      return whileHeartbeating(() =>
        asActivity(log, () => {
          const plan = openPlan(run);
          if (plan.source.kind !== 'directory') throw new CountersignError('BAD_INPUT', `${plan.target}'s plan promotes an existing image: there is no directory to build`);
          return steps.buildAndPush(deps, plan.source.path, imageOf(plan));
        }),
      );
    },

    async resolveImage(run: PlanInRun): Promise<void> {
      return whileHeartbeating(() => asActivity(log, () => steps.resolveImage(deps, imageOf(openPlan(run)))));
    },

    /** Attest by digest: the SBOM lists what the pushed image holds (no second build). The result is sealed for devSign. */
    async attestImage(run: PlanInRun, invocation: InvocationFacts): Promise<Sealed<steps.AttestOutcome>> {
      return whileHeartbeating(() =>
        asActivity(log, async () => {
          const plan = openPlan(run);
          if (!plan.build) throw new CountersignError('BAD_INPUT', `${plan.target}'s plan has no build facts to attest`);
          const outcome = await steps.attestPushedImage(deps, imageOf(plan), { ...plan.build, ...invocation });
          return sealed.seal(PROMOTION_SEALS.attestations, run.runId, outcome);
        }),
      );
    },

    /** Signs the image and the attestations this run's attest step sealed, with the developer key. */
    async devSign(run: PlanInRun, attestations: Sealed<steps.AttestOutcome>): Promise<{ signatureAdded: boolean; attestationsAdded: number }> {
      return whileHeartbeating(() =>
        asActivity(log, () => {
          const plan = openPlan(run);
          const made = sealed.open(PROMOTION_SEALS.attestations, run.runId, attestations, 'attestation list');
          return steps.developerSign(deps, imageOf(plan), signingKeyOf(plan, 'developer'), [made.provenanceDigest, made.sbomDigest], plan.keyless);
        }),
      );
    },

    /** Platform verify under the plan's policy; the report is sealed, and production signing acts only on a sealed passing one. */
    async platformVerify(run: PlanInRun, thisRunsInvocation?: string): Promise<Sealed<steps.VerificationReport>> {
      return whileHeartbeating(() =>
        asActivity(log, async () => {
          const plan = openPlan(run);
          const developer = plan.keys.developer;
          const report = await steps.verifyForPlatform(deps, imageOf(plan), developer.publicKeyPem, plan.policy, plan.requestedCommit, developer.trust, thisRunsInvocation, plan.keyless);
          return sealed.seal(PROMOTION_SEALS.report, run.runId, report);
        }),
      );
    },

    /**
     * The evidence pack the approvers decide on, as the console shows it (src/evidence/pack.ts),
     * read from the sealed plan and report and the registry; only its digest and the release pin
     * go back, sealed. With `previous` (this step's last sealed result) the release stays as pinned then.
     */
    async evidence(run: PlanInRun, report: Sealed<steps.VerificationReport>, previous?: Sealed<EvidenceCheck>): Promise<Sealed<EvidenceCheck>> {
      return whileHeartbeating(() =>
        asActivity(log, async () => {
          const plan = openPlan(run);
          const verified = sealed.open(PROMOTION_SEALS.report, run.runId, report, 'verification report');
          const pinned = previous === undefined ? undefined : sealed.open(PROMOTION_SEALS.evidence, run.runId, previous, 'evidence check').release;
          const pack = await assemblePack(deps, { promotionId: sealed.ownWorkflowId(), runId: run.runId, plan, report: withoutSeal(verified) }, pinned);
          const check: EvidenceCheck = {
            digest: evidencePackDigest(pack),
            release: pack.provenance.released.digest ? { digest: pack.provenance.released.digest } : {},
            attestations: pack.attestations.length,
          };
          return sealed.seal(PROMOTION_SEALS.evidence, run.runId, check);
        }),
      );
    },

    /**
     * The production signature, only over a sealed plan and a sealed passing report, and only
     * when the approval record's votes hold against the plan's roster and quorum (and, with the
     * evidence step's last sealed result, were each signed over that pack).
     */
    async prodSign(
      run: PlanInRun,
      report: Sealed<steps.VerificationReport>,
      approvalRecord: { decisions?: unknown } & Record<string, unknown>,
      evidence?: Sealed<EvidenceCheck>,
    ): Promise<{ added: boolean; keyFingerprint: string; approvalRecordAdded?: boolean; summaryAdded?: boolean }> {
      return whileHeartbeating((signal) =>
        asActivity(log, () => {
          const plan = openPlan(run);
          const verified = sealed.open(PROMOTION_SEALS.report, run.runId, report, 'verification report');
          if (!verified.ok) throw new CountersignError('VERIFICATION_FAILED', `platform verify did not pass for ${plan.repository}@${plan.digest}: refusing to sign`);
          const pack = evidence === undefined ? undefined : sealed.open(PROMOTION_SEALS.evidence, run.runId, evidence, 'evidence check').digest;
          checkApprovalRecord(
            { workflowId: sealed.ownWorkflowId(), runId: run.runId, plan, developerKeyFingerprint: plan.keys.developer.fingerprint, commitAuthors: verified.commitAuthors, ...(pack ? { evidence: pack } : {}) },
            approvalRecord?.decisions,
          );
          // The votes were re-checked just above: the outcome is this step's to state, as is the summary of the sealed report.
          const summary = { target: plan.target, policyDigest: plan.policyDigest, report: verified, ...(plan.verifierId ? { verifierId: plan.verifierId } : {}) };
          return steps.productionSign(deps, imageOf(plan), signingKeyOf(plan, 'platform'), { ...approvalRecord, outcome: 'approved' }, { signal, summary });
        }),
      );
    },

    async release(run: PlanInRun): Promise<{ reference: string }> {
      return whileHeartbeating(() =>
        asActivity(log, () => {
          const plan = openPlan(run);
          return steps.release(deps, imageOf(plan), plan.releaseTag);
        }),
      );
    },
  };
}

export type PromotionActivities = ReturnType<typeof createPromotionActivities>;

/** The report as the pack reads it: the seal is the step's business, not the approver's. */
function withoutSeal<T extends object>(value: T): T {
  const { seal: _seal, ...rest } = value as T & { seal?: string };
  return rest as T;
}
