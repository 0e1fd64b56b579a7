/**
 * The production signing step's own check of the votes it is about to sign for. The workflow's
 * gate already checked each vote as it arrived; this check repeats the part that decides (each
 * signature against the sealed plan's roster, each statement naming this run and digest, the
 * quorum, the veto, separation of duties) outside the workflow, so that what the platform key
 * signs never rests on the gate's word alone.
 */
import { CountersignError } from '../errors';
import { statementSignedBy } from '../requests/sign';
import { passkeyAssertionProblem } from './passkey-assertion';
import type { PinnedRosterEntry } from '../promotion/plan';
import type { ApprovalConfig } from './config';
import { APPROVAL_STATEMENT_TYPE } from './constants';
import { sameIdentity } from './identity';
import { evaluateQuorum } from './quorum';

export interface RecordedDecision {
  approver: string;
  decision: string;
  statement: string;
  signature: string;
  /** A decision signed in the console with a passkey: the rest of the WebAuthn assertion. */
  passkey?: { credentialId: string; authenticatorData: string; clientDataJSON: string };
}

export interface ApprovalRecordSubject {
  workflowId: string;
  runId: string;
  /** What the sealed plan pins: the digest voted on, the policy and roster, who started the run. */
  plan: { digest: string; approval: ApprovalConfig & { roster: Record<string, PinnedRosterEntry> }; initiator: string };
  /** The developer key that signed the build, when there is one: its holder may not approve. */
  developerKeyFingerprint?: string;
  /** Everyone the judged provenance names as the commit's author (from the sealed verification report). */
  commitAuthors?: string[];
  /** The evidence pack's digest the gate last read (sealed): every vote must be signed over it. */
  evidence?: string;
}

const MAX_DECISIONS = 1000;

/** Throws APPROVAL_REFUSED with the first fact that does not hold; returns who counted for which group. */
export function checkApprovalRecord(subject: ApprovalRecordSubject, decisions: unknown): Record<string, string> {
  const refuse = (why: string): never => {
    throw new CountersignError('APPROVAL_REFUSED', `the approval record of ${subject.workflowId} does not hold against the worker's sealed plan: ${why}; refusing to sign`);
  };
  if (!Array.isArray(decisions)) return refuse('it has no list of decisions');
  if (decisions.length > MAX_DECISIONS) refuse(`it has ${decisions.length} decisions, more than ${MAX_DECISIONS}`);
  const { approval, digest } = subject.plan;
  const approvers: string[] = [];
  const rejecters: string[] = [];
  const seen = new Set<string>();
  for (const d of decisions as RecordedDecision[]) {
    const who = typeof d?.approver === 'string' ? d.approver : '';
    const entry = approval.roster[who];
    if (!entry) refuse(`${JSON.stringify(who.slice(0, 64))} is not in the plan's roster`);
    if (typeof d.statement !== 'string' || typeof d.signature !== 'string') refuse(`${who}'s decision is not a signed statement`);
    if (d.passkey !== undefined) {
      // The same check the gate ran in its sandbox, repeated here against the sealed plan's passkeys.
      const checked = passkeyAssertionProblem(d.statement, { ...d.passkey, signature: d.signature }, entry.passkeys);
      if ('problem' in checked) refuse(`${who}'s passkey decision does not hold: ${checked.problem}`);
    } else if (!entry.publicKeyPem || !statementSignedBy({ statement: d.statement, signature: d.signature }, entry.publicKeyPem)) {
      refuse(`${who}'s statement does not verify with their roster key ${entry.fingerprint?.slice(0, 16) ?? '(none: passkeys only)'}`);
    }
    let statement: Record<string, unknown>;
    try {
      statement = JSON.parse(d.statement) as Record<string, unknown>;
    } catch {
      return refuse(`${who}'s statement is not JSON`);
    }
    if (statement._type !== APPROVAL_STATEMENT_TYPE) refuse(`${who}'s statement is not an approval statement`);
    if (statement.approver !== who) refuse(`a statement signed by ${who} names approver ${String(statement.approver)}`);
    if (statement.promotionId !== subject.workflowId || statement.runId !== subject.runId) {
      refuse(`${who}'s vote is for ${String(statement.promotionId)} run ${String(statement.runId)}, not ${subject.workflowId} run ${subject.runId}`);
    }
    if (statement.digest !== digest) refuse(`${who}'s vote is for digest ${String(statement.digest)}, not ${digest}`);
    if (subject.evidence !== undefined && statement.evidence !== subject.evidence) refuse(`${who}'s vote is over ${statement.evidence === undefined ? 'no evidence pack' : `evidence pack ${String(statement.evidence)}`}, not ${subject.evidence}`);
    if (statement.decision !== d.decision || (d.decision !== 'approve' && d.decision !== 'reject')) refuse(`${who}'s recorded decision is not the one they signed`);
    if (seen.has(who)) refuse(`${who} voted twice`);
    seen.add(who);
    (d.decision === 'approve' ? approvers : rejecters).push(who);
  }
  if (approval.vetoOnReject && rejecters.length > 0) refuse(`${rejecters.join(', ')} rejected and the policy gives a rejection the veto`);
  for (const who of approvers) {
    const entry = approval.roster[who];
    const names = [who, ...entry.identities];
    const conflict = (identity: string | undefined) => identity !== undefined && names.some((n) => sameIdentity(n, identity));
    if (conflict(subject.plan.initiator)) refuse(`${who} started this run and may not approve it`);
    const developer = subject.developerKeyFingerprint;
    if (developer && (entry.fingerprint === developer || entry.signingKeyFingerprints.includes(developer))) refuse(`${who} signed the build with the developer key and may not approve it`);
    if ((subject.commitAuthors ?? []).some(conflict)) refuse(`${who} authored the commit and may not approve it`);
  }
  const quorum = evaluateQuorum(approval.groups, approvers);
  if (!quorum.met) {
    const short = approval.groups.filter((g) => (quorum.have[g.name] ?? 0) < g.required).map((g) => `${g.name} ${quorum.have[g.name] ?? 0}/${g.required}`);
    refuse(`the quorum is not met (${short.join(', ')})`);
  }
  return quorum.assignment;
}
