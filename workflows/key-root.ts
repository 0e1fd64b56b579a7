/**
 * A trust root (docs/trust.md, The root): the worker checks the governance member's signed request
 * and drafts the next root from its configuration; governance members sign the draft's digest
 * through the approval gate (the threshold of the previous root's governance, or of its own for
 * the first); then the root and those signatures are published beside index.json.
 */
import { proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { RootActivities } from '../activities/root';
import { readRootClaim } from '../src/requests/root-request';
import { governanceGate, passGate } from './governance-gate';
import { failureMessage } from './timeline';
import { rootAnswerUpdate, rootQuery, type RootInput, type RootStatus } from './key-root-messages';
import { answerWhen } from './waiting-update';

// The worker's answer to the request; a refusal is final, visibility catching up is retried.
const { authorizeRoot } = proxyActivities<RootActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '10 seconds', maximumAttempts: 5 },
});

// Writing two files is local; retried a little for a full disk or a slow mount.
const { publishTrustRoot } = proxyActivities<RootActivities>({
  startToCloseTimeout: '1 minute',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 10 },
});

export async function keyRoot(input: RootInput): Promise<RootStatus> {
  const { workflowId: rootId, firstExecutionRunId: runId } = workflowInfo();
  const claim = readRootClaim(input?.request);
  const gate = governanceGate(rootId, runId, 'trust root');
  const status: RootStatus = { rootId, ...claim, state: 'AUTHORIZING', approval: gate.view() };
  const view = () => ({ ...status, approval: gate.view() });
  setHandler(rootQuery, view);
  answerWhen(rootAnswerUpdate, () => status.state !== 'AUTHORIZING', view);

  let plan;
  try {
    plan = await authorizeRoot({ request: input?.request, workflowId: rootId, runId });
  } catch (err) {
    status.state = 'REFUSED';
    status.error = failureMessage(err);
    return status;
  }
  Object.assign(status, { trust: plan.trust, version: plan.version, requester: plan.requester, text: plan.text, digest: plan.digest });
  try {
    // No initiator: the requester signs the root like any other member (TUF roots are signed by their holders).
    const role = `a governance member of ${plan.previous ? `root ${plan.previous.version}` : 'the first root'} of store ${plan.trust}`;
    if (!(await passGate(gate, { id: rootId, runId, digest: plan.digest, initiator: '', noun: 'trust root', role }, plan.signers, status, 'AWAITING_SIGNATURES'))) return status;
    status.state = 'PUBLISHING';
    // The step checks the plan's seal and every signer's statement again before it writes.
    const published = await publishTrustRoot({ runId, plan }, gate.signedVotes());
    Object.assign(status, { state: 'PUBLISHED', file: published.file, signers: published.signers });
  } catch (err) {
    status.state = 'FAILED';
    status.error = failureMessage(err);
  }
  return status;
}
