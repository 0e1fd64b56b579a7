import { Context } from '@temporalio/activity';
import { CountersignError } from '../src/errors';
import type { SealKeyring } from '../src/seal/keyring';
import { checkSeal, sealValue, type Sealed } from '../src/seal/seal';

/** A sealed plan and the run it belongs to (the run's first execution id): what every step after authorize takes. */
export interface SealedInRun<P> {
  runId: string;
  plan: Sealed<P>;
}

/**
 * Sealing for one family of activities (docs/security.md, "Sealed plans"). The workflow id a seal
 * is bound to is the activity's own, from its context, unless a step checks a value another
 * workflow sealed (a rotation retiring what its ceremony published) and names that workflow.
 */
export function sealing(seal: (() => SealKeyring) | undefined) {
  const keyring = (): SealKeyring => {
    if (!seal) throw new CountersignError('NO_WORKER_CONFIG', 'this worker has no configuration (set COUNTERSIGN_CONFIG for the worker) and so no seal key: it acts on no plan');
    return seal();
  };
  const ownWorkflowId = () => Context.current().info.workflowExecution?.workflowId ?? '';
  return {
    ownWorkflowId,
    /** `value` sealed as `kind` for this workflow and run. */
    seal<T extends object>(kind: string, runId: string, value: T, workflowId = ownWorkflowId()): Sealed<T> {
      return sealValue(keyring(), { kind, workflowId, runId }, value);
    },
    /** `value` when its seal is this deployment's, for `kind`, this workflow and run; SEAL_INVALID otherwise. */
    open<T extends object>(kind: string, runId: string, value: Sealed<T> | T | undefined, what: string, workflowId = ownWorkflowId()): Sealed<T> {
      return checkSeal(keyring(), { kind, workflowId, runId }, value, what);
    },
    /** The plan of a step's `{ runId, plan }`. */
    openPlan<P extends object>(kind: string, run: SealedInRun<P>, what: string): Sealed<P> {
      return checkSeal(keyring(), { kind, workflowId: ownWorkflowId(), runId: run?.runId ?? '' }, run?.plan, what);
    },
  };
}
