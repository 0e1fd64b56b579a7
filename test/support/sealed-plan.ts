/**
 * A sealed promotion plan for activity tests in the SDK's MockActivityEnvironment (whose workflow
 * id is "test"): the activities refuse an unsealed plan, so a test of one step seals the plan
 * the way authorize would, with an in-memory seal key.
 */
import crypto from 'node:crypto';
import { PROMOTION_SEALS, type PlanInRun, type PromotionPlan } from '../../src/promotion/plan';
import { sealKeyId, type SealKeyring } from '../../src/seal/keyring';
import { sealValue } from '../../src/seal/seal';

export const MOCK_WORKFLOW_ID = 'test';
export const MOCK_RUN_ID = '00000000-0000-0000-0000-000000000000';

export function memoryKeyring(key = crypto.randomBytes(32)): SealKeyring {
  const id = sealKeyId(key);
  return { current: { id, key }, byId: (k) => (k === id ? key : undefined), ids: () => [id] };
}

/** A plan with the fields a step reads; the rest are harmless placeholders. */
export function testPlan(fields: Partial<PromotionPlan> & Pick<PromotionPlan, 'repository' | 'digest'>): PromotionPlan {
  const key = { passwordEnv: 'UNUSED', publicKeyPem: '', fingerprint: '' };
  return {
    target: 'test',
    source: { kind: 'image', reference: `${fields.repository}@${fields.digest}` },
    policy: {} as PromotionPlan['policy'],
    approval: { groups: [], vetoOnReject: true, deadlineMs: 60_000, roster: {} } as unknown as PromotionPlan['approval'],
    keys: { developer: { ...key }, platform: { ...key } },
    releaseTag: 'prod',
    signatureFormat: 'legacy',
    initiator: 'ci',
    policyDigest: `sha256:${'0'.repeat(64)}`,
    configFile: '/dev/null',
    ...fields,
  };
}

/** `plan` sealed as authorize seals it, for the mock environment's workflow and run. */
export function sealedRun(keyring: SealKeyring, plan: PromotionPlan, runId = MOCK_RUN_ID, workflowId = MOCK_WORKFLOW_ID): PlanInRun {
  return { runId, plan: sealValue(keyring, { kind: PROMOTION_SEALS.plan, workflowId, runId }, plan) };
}

/** Any other value sealed for a kind (an attestation list, a verification report). */
export function sealedAs<T extends object>(keyring: SealKeyring, kind: string, value: T, runId = MOCK_RUN_ID, workflowId = MOCK_WORKFLOW_ID) {
  return sealValue(keyring, { kind, workflowId, runId }, value);
}
