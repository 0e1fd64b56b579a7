/**
 * The approval gate, reusable by every workflow that needs human approval. Approvers send signed
 * statements through the `decide` update; the validator checks each against the pinned roster and
 * policy before it reaches history, so the approver hears at once why a vote is refused.
 * Reminders and escalation are durable timers; the deadline ends the gate EXPIRED.
 */
import { allHandlersFinished, ApplicationFailure, condition, isCancellation, log, proxyActivities, setHandler, workflowInfo } from '@temporalio/workflow';
import type { NotifyActivities } from '../activities/notify';
import {
  APPROVAL_STATEMENT_TYPE,
  approvalQuery,
  decideUpdate,
  type ApprovalPolicy,
  type ApprovalStatement,
  type ApprovalView,
  type GateCarry,
  type GateState,
  type GateSubject,
  type RecordedVote,
  type SignedDecision,
} from './approval-messages';
import { sameIdentity } from '../src/approval/identity';
import { verifyStatementSignature } from './approval-signature';
import { passkeyAssertionProblem } from '../src/approval/passkey-assertion';
import { evaluateQuorum, quorumReachable } from '../src/approval/quorum';
import { EvidenceBinding, nextEvidenceCheck, type EvidenceFound } from './gate-evidence';
import { DEFAULT_EVIDENCE_CHECK_EVERY_MS, MIN_EVIDENCE_CHECK_MS } from '../src/limits';

// Notifications are best effort but patient: a webhook that is down (or answers 5xx/429) is retried
// every 30 s at most for 15 minutes, then recorded, never fatal; a 4xx other than 429 fails at once.
// They run beside the gate (never awaited by its loop), so a slow webhook never delays a decision.
const { notify } = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '15 minutes',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

// How the gate ended (approved, rejected, expired) is awaited before the run goes on or ends (an
// activity still pending when a run ends would never be sent), so a webhook that is down is given
// one minute for it, then counted as failed.
const { notify: notifyEnding } = proxyActivities<NotifyActivities>({
  startToCloseTimeout: '30 seconds',
  scheduleToCloseTimeout: '1 minute',
  retry: { initialInterval: '2 seconds', backoffCoefficient: 2, maximumInterval: '30 seconds' },
});

/**
 * When a gate hands over to a fresh run (continue-as-new): when the server suggests it (its
 * history-count or history-size threshold), or past this many events whatever the server says.
 * A reminder costs about five events, so months of reminders never reach Temporal's hard limits.
 */
export const GATE_HISTORY_EVENTS_LIMIT = 10_000;

/** How far a statement's own time may sit outside the gate's window (clocks differ). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export type NotificationKind = 'requested' | 'reminder' | 'escalation' | 'evidence-changed' | 'approved' | 'rejected' | 'expired';

/** Reads the evidence pack's digest (an activity); given to run() by a gate that shows one. */
export type EvidenceCheck = () => Promise<EvidenceFound>;

export interface GateOutcome {
  state: 'APPROVED' | 'REJECTED' | 'EXPIRED';
  votes: RecordedVote[];
  summary: string;
}

export class ApprovalGate {
  private state: GateState = 'WAITING';
  private readonly votes: RecordedVote[] = [];
  private readonly excluded = new Map<string, string>();
  private openedAt = 0;
  private deadlineAt = 0;
  private reminders = 0;
  private escalatedAt?: string;
  private notificationFailures = 0;
  /** Notifications still being delivered (they run beside the gate's loop, one after another). */
  private inFlight = 0;
  private delivering: Promise<void> = Promise.resolve();
  /** Set when this run continues a gate an earlier run opened. */
  private resumed = false;
  private readonly evidence = new EvidenceBinding();
  private lastEvidenceCheck = 0;
  /** How a gate that shows a pack reads it (given to run()), and the read under way, if any. */
  private checkEvidence?: EvidenceCheck;
  private reading?: Promise<boolean>;
  /** When a vote last made the gate read its pack (at most once a minute; see validate). */
  private lastReadForVote = -Infinity;

  constructor(
    private subject: GateSubject,
    private policy: ApprovalPolicy,
  ) {
    this.excludeBySubject();
    setHandler(approvalQuery, () => this.view());
    setHandler(decideUpdate, (decision: SignedDecision) => (this.namesUnreadPack(decision) ? this.readThenAccept(decision) : this.accept(decision)), {
      validator: (decision: SignedDecision) => {
        this.validate(decision, { mayReadFirst: true });
      },
    });
  }

  /**
   * Sets what the gate is about once it is known (a promotion learns its policy from its first
   * step; the handlers are registered from the start so an early vote is refused with a reason).
   */
  configure(subject: GateSubject, policy: ApprovalPolicy): void {
    if (this.state !== 'WAITING') throw new Error('the approval gate is configured before it opens');
    this.subject = subject;
    this.policy = policy;
    this.excluded.clear();
    this.excludeBySubject();
  }

  /** Separation of duties for facts learned during the run (e.g. the commit author in the provenance). */
  excludeIdentity(identity: string | undefined, why: string): void {
    if (!identity) return;
    // Names are compared as people write them: `Alice@ACME.com ` is alice@acme.com (src/approval/identity.ts).
    for (const [name, entry] of Object.entries(this.policy.roster)) {
      if (sameIdentity(name, identity) || entry.identities.some((known) => sameIdentity(known, identity))) this.exclude(name, why);
    }
  }

  /**
   * Takes over an open gate from the run before this one (continue-as-new): the same votes,
   * exclusions and timers. Call after configure(), before run().
   */
  resume(carry: GateCarry): void {
    if (this.state !== 'WAITING') throw new Error('a gate is resumed before it opens');
    this.votes.push(...carry.votes);
    this.excluded.clear();
    for (const { approver, why } of carry.excluded) this.excluded.set(approver, why);
    this.openedAt = carry.openedAt;
    this.deadlineAt = carry.deadlineAt;
    this.reminders = carry.reminders;
    this.escalatedAt = carry.escalatedAt;
    this.notificationFailures = carry.notificationFailures;
    this.evidence.resume(carry.evidence);
    this.state = 'OPEN';
    this.resumed = true;
  }

  /** What the next run needs to go on with this open gate. */
  carry(): GateCarry {
    return {
      votes: [...this.votes],
      excluded: [...this.excluded].map(([approver, why]) => ({ approver, why })),
      openedAt: this.openedAt,
      deadlineAt: this.deadlineAt,
      reminders: this.reminders,
      ...(this.escalatedAt ? { escalatedAt: this.escalatedAt } : {}),
      notificationFailures: this.notificationFailures,
      ...(this.evidence.current || this.evidence.dropped.length ? { evidence: this.evidence.carry() } : {}),
    };
  }

  /**
   * Opens the gate (or goes on with a resumed one) and waits for a decision, the deadline,
   * reminders and escalation in between. With `handOver`, a gate whose run has grown a long
   * history hands its state to it after a reminder; handOver continues the workflow as new.
   * With `checkEvidence` (and the pack read just before opening as `opening`, so the gate opens
   * in the same step the run enters its approval state), votes count over the current pack only.
   */
  async run(options: { handOver?: (carry: GateCarry) => Promise<never>; checkEvidence?: EvidenceCheck; opening?: EvidenceFound } = {}): Promise<GateOutcome> {
    const { checkEvidence } = options;
    this.checkEvidence = checkEvidence;
    const checkEvery = this.policy.evidenceCheckEveryMs ?? DEFAULT_EVIDENCE_CHECK_EVERY_MS;
    if (!this.resumed) {
      // The pack the caller read just before opening: the first message and the first vote name it.
      if (options.opening) this.evidenceFound(options.opening);
      this.state = 'OPEN';
      this.openedAt = Date.now();
      this.deadlineAt = this.openedAt + this.policy.deadlineMs;
      this.notifyBeside('requested', this.stillNeeded());
    } else if (checkEvidence) {
      // A fresh run reads the pack again: whatever changed while the runs handed over is seen now.
      await this.recheckEvidence(checkEvidence);
    }
    for (;;) {
      const nextReminder = this.policy.reminderEveryMs ? this.openedAt + (this.reminders + 1) * this.policy.reminderEveryMs : Infinity;
      const nextCheck = checkEvidence ? nextEvidenceCheck(this.subject.id, this.lastEvidenceCheck, checkEvery) : Infinity;
      const wakeAt = Math.min(nextReminder, nextCheck, this.deadlineAt);
      const decided = await condition(() => this.outcome() !== 'pending', Math.max(1, wakeAt - Date.now()));
      if (decided) {
        // Quorum is judged over the pack as it is now: a change since the last check drops the
        // votes signed over the old one, and the gate waits on.
        if (checkEvidence && this.outcome() === 'approved') {
          const changed = await this.freshRecheck(checkEvidence);
          // A vote's read that ended meanwhile may have dropped votes too.
          if (changed || this.outcome() !== 'approved') continue;
        }
        break;
      }
      if (Date.now() >= this.deadlineAt) {
        this.state = 'EXPIRED';
        await this.notify('expired', this.stillNeeded());
        return { state: 'EXPIRED', votes: this.votes, summary: this.summary() };
      }
      if (checkEvidence) await this.recheckEvidence(checkEvidence);
      // Without an evidence check every wake is a reminder's, as it always was.
      if (Date.now() >= nextReminder) {
        this.reminders += 1;
        this.notifyBeside('reminder', this.stillNeeded());
        const escalation = this.policy.escalation;
        if (escalation && this.policy.escalateAfterReminders !== undefined && this.reminders === this.policy.escalateAfterReminders) {
          this.escalatedAt = new Date().toISOString();
          this.notifyBeside('escalation', escalation.members);
        }
      }
      // After a check as after a reminder: a gate without reminders still reads its pack every
      // evidenceCheckEvery for up to the 90-day deadline, too many events for one history.
      if (options.handOver && historyIsLong()) {
        // Notifications in flight land first (a webhook that is down is retried for minutes),
        // unless a decision or the deadline comes first: then the loop above acts on it.
        await condition(() => (this.inFlight === 0 && allHandlersFinished()) || this.outcome() !== 'pending', Math.max(1, this.deadlineAt - Date.now()));
        if (this.outcome() === 'pending' && this.inFlight === 0 && Date.now() < this.deadlineAt) return options.handOver(this.carry());
      }
    }
    const outcome = this.outcome() === 'approved' ? 'APPROVED' : 'REJECTED';
    this.state = outcome;
    await this.notify(outcome === 'APPROVED' ? 'approved' : 'rejected', []);
    return { state: outcome, votes: this.votes, summary: this.summary() };
  }

  view(): ApprovalView {
    const quorum = evaluateQuorum(this.policy.groups, this.approvers());
    const evidence = this.evidence.current;
    return {
      state: this.state,
      subject: { id: this.subject.id, ...(this.subject.runId ? { runId: this.subject.runId } : {}), digest: this.subject.digest },
      groups: this.policy.groups.map((g) => ({
        name: g.name,
        required: g.required,
        have: quorum.have[g.name],
        missing: g.required - quorum.have[g.name],
        eligible: g.members.filter((m) => !this.excluded.has(m) && !this.votes.some((v) => v.approver === m)),
      })),
      votes: this.votes.map(({ signed: _signed, ...vote }) => ({ ...vote, countedFor: quorum.assignment[vote.approver] })),
      excluded: [...this.excluded].map(([approver, why]) => ({ approver, why })),
      deadline: this.deadlineAt ? new Date(this.deadlineAt).toISOString() : undefined,
      msLeft: this.state === 'OPEN' ? Math.max(0, this.deadlineAt - Date.now()) : undefined,
      reminders: this.reminders,
      escalatedAt: this.escalatedAt,
      notificationFailures: this.notificationFailures,
      summary: this.summary(),
      ...(evidence ? { evidence: { ...evidence, earlier: [...evidence.earlier] } } : {}),
      ...(this.evidence.dropped.length ? { dropped: [...this.evidence.dropped] } : {}),
    };
  }

  /** The signed statements with the group each approval counted toward, for the approval record. */
  record(): RecordedVote[] {
    const quorum = evaluateQuorum(this.policy.groups, this.approvers());
    return this.votes.map((v) => ({ ...v, countedFor: quorum.assignment[v.approver] }));
  }

  /** Every vote as its signer signed it: what a step that acts on the outcome checks again (src/approval/record-check.ts). */
  signedVotes(): Array<{ approver: string; decision: string; statement: string; signature: string; passkey?: SignedDecision['passkey'] }> {
    return this.votes.map((v) => ({ approver: v.approver, decision: v.decision, statement: v.signed.statement, signature: v.signed.signature, ...(v.signed.passkey ? { passkey: v.signed.passkey } : {}) }));
  }

  /**
   * Reads the pack again; true when it changed (and votes over the old one were dropped). One read
   * at a time: a vote that reads first and the gate's own check share it.
   */
  private recheckEvidence(check: EvidenceCheck): Promise<boolean> {
    this.reading ??= this.readEvidence(check).finally(() => (this.reading = undefined));
    return this.reading;
  }

  /**
   * A read that begins now. One under way (a vote's) may have read the registry before the vote
   * that met quorum arrived, so the read that guards production signing waits it out and reads again.
   */
  private async freshRecheck(check: EvidenceCheck): Promise<boolean> {
    while (this.reading) await this.reading;
    return this.recheckEvidence(check);
  }

  /**
   * A vote over a pack the gate has not read yet (the pack changed since its last read, and the
   * approver read the new one with `countersign evidence`): the gate reads the pack, then judges
   * the vote over what it found. The validator let it through only when the signature holds.
   */
  private namesUnreadPack(decision: SignedDecision): boolean {
    return this.evidence.refusal((JSON.parse(decision.statement) as ApprovalStatement).evidence)?.type === 'EVIDENCE_UNKNOWN';
  }

  private async readThenAccept(decision: SignedDecision): Promise<ApprovalView> {
    if (this.reading === undefined) this.lastReadForVote = Date.now();
    await this.recheckEvidence(this.checkEvidence!);
    this.validate(decision, { mayReadFirst: false });
    return this.accept(decision);
  }

  private async readEvidence(check: EvidenceCheck): Promise<boolean> {
    let found: EvidenceFound;
    try {
      found = await check();
    } catch (err) {
      if (isCancellation(err)) throw err;
      // The registry down past the step's retries: the last pack read stands, and the view counts the miss.
      this.lastEvidenceCheck = Date.now();
      this.evidence.failed();
      log.warn('evidence check failed', { error: (err as Error).message });
      return false;
    }
    return this.evidenceFound(found);
  }

  private evidenceFound(found: EvidenceFound): boolean {
    this.lastEvidenceCheck = Date.now();
    const before = this.evidence.current?.digest;
    const dropped = this.evidence.found(found, this.votes, new Date().toISOString());
    if (before === undefined || before === found.digest) return false;
    // Everyone who must act again hears why: those whose votes stopped counting and those still needed.
    this.notifyBeside('evidence-changed', [...new Set([...dropped.map((v) => v.approver), ...this.stillNeeded()])]);
    return true;
  }

  private approvers(): string[] {
    return this.votes.filter((v) => v.decision === 'approve').map((v) => v.approver);
  }

  private outcome(): 'pending' | 'approved' | 'rejected' {
    const rejected = this.votes.some((v) => v.decision === 'reject');
    if (rejected && this.policy.vetoOnReject) return 'rejected';
    if (evaluateQuorum(this.policy.groups, this.approvers()).met) return 'approved';
    const eligible = this.policy.groups.flatMap((g) => g.members).filter((m) => !this.excluded.has(m) && !this.votes.some((v) => v.approver === m));
    return quorumReachable(this.policy.groups, this.approvers(), [...new Set(eligible)]) ? 'pending' : 'rejected';
  }

  private summary(): string {
    switch (this.state) {
      case 'WAITING':
        return 'not yet at the approval step';
      case 'APPROVED':
        return `approved by ${this.approvers().join(', ')}`;
      case 'EXPIRED':
        return `expired at ${new Date(this.deadlineAt).toISOString()} with ${this.missingText() || 'nothing missing'}`;
      case 'REJECTED':
        return this.rejectionText();
      default: {
        // The vote that settles it is answered before the gate moves on: say so, not "waiting for".
        const outcome = this.outcome();
        if (outcome === 'approved') return `quorum met: approved by ${this.approvers().join(', ')}`;
        if (outcome === 'rejected') return this.rejectionText();
        return `waiting for ${this.missingText()}`;
      }
    }
  }

  private rejectionText(): string {
    const veto = this.votes.find((v) => v.decision === 'reject');
    return veto ? `rejected by ${veto.approver}: ${veto.reason}` : `quorum can no longer be met: ${this.missingText()}`;
  }

  private missingText(): string {
    const quorum = evaluateQuorum(this.policy.groups, this.approvers());
    return this.policy.groups
      .filter((g) => quorum.have[g.name] < g.required)
      .map((g) => `${g.required - quorum.have[g.name]} more of ${g.name}`)
      .join(', ');
  }

  private stillNeeded(): string[] {
    const quorum = evaluateQuorum(this.policy.groups, this.approvers());
    const names = this.policy.groups
      .filter((g) => quorum.have[g.name] < g.required)
      .flatMap((g) => g.members)
      .filter((m) => !this.excluded.has(m) && !this.votes.some((v) => v.approver === m));
    return [...new Set(names)];
  }

  private excludeBySubject(): void {
    const { initiator, developerKeyFingerprint } = this.subject;
    this.excludeIdentity(initiator, `started this ${this.subject.noun ?? 'promotion'}`);
    if (developerKeyFingerprint) {
      for (const [name, entry] of Object.entries(this.policy.roster)) {
        if (entry.fingerprint === developerKeyFingerprint || entry.signingKeyFingerprints.includes(developerKeyFingerprint)) {
          this.exclude(name, 'signed the build with the developer key');
        }
      }
    }
  }

  private exclude(name: string, why: string): void {
    const previous = this.excluded.get(name);
    this.excluded.set(name, previous && !previous.includes(why) ? `${previous}; ${why}` : why);
  }

  private accept(decision: SignedDecision): ApprovalView {
    const statement = JSON.parse(decision.statement) as ApprovalStatement;
    this.votes.push({
      approver: statement.approver,
      decision: statement.decision,
      reason: statement.reason,
      signedAt: statement.time,
      acceptedAt: new Date().toISOString(),
      ...(statement.evidence !== undefined ? { evidence: statement.evidence } : {}),
      signed: { statement: decision.statement, signature: decision.signature, ...(decision.passkey ? { passkey: decision.passkey } : {}) },
      keyFingerprint: this.signerFingerprint(statement.approver, decision),
    });
    return this.view();
  }

  /** The fingerprint of the key that signed a decision: the passkey's, or the roster file key's. */
  private signerFingerprint(approver: string, decision: SignedDecision): string {
    const entry = this.policy.roster[approver];
    if (decision.passkey) return entry.passkeys?.find((p) => p.id === decision.passkey!.credentialId)?.fingerprint ?? '';
    return entry.fingerprint ?? '';
  }

  /**
   * Throws (refusing the update) with the reason the approver sees. With `mayReadFirst`, a vote
   * over a digest the gate has not shown passes when the gate may read its pack first (see
   * namesUnreadPack): at most once a minute, so a roster member cannot make it read the registry
   * at will.
   */
  private validate(decision: SignedDecision, { mayReadFirst }: { mayReadFirst: boolean }): void {
    const refuse = (why: string): never => {
      throw ApplicationFailure.nonRetryable(why, 'APPROVAL_REFUSED');
    };
    if (typeof decision?.statement !== 'string' || typeof decision?.signature !== 'string') refuse('a decision is a signed statement: { statement, signature }');
    let statement: ApprovalStatement;
    try {
      statement = JSON.parse(decision.statement) as ApprovalStatement;
    } catch {
      return refuse('the statement is not JSON');
    }
    if (decision.statement.length > 16 * 1024) refuse(`the statement is ${decision.statement.length} bytes; at most 16384 are accepted`);
    const known = new Set(['_type', 'promotionId', 'runId', 'digest', 'evidence', 'decision', 'reason', 'approver', 'time']);
    const unknown = Object.keys(statement ?? {}).filter((k) => !known.has(k));
    if (statement?._type !== APPROVAL_STATEMENT_TYPE) refuse(`the statement type must be ${APPROVAL_STATEMENT_TYPE}`);
    if (unknown.length > 0) refuse(`the statement has unknown fields: ${unknown.join(', ')}`);
    if (statement.decision !== 'approve' && statement.decision !== 'reject') refuse(`decision must be approve or reject, not "${statement.decision}"`);
    if (typeof statement.approver !== 'string' || statement.approver === '') refuse('the statement names no approver');
    if (this.state !== 'OPEN') refuse(`${this.subject.id} is not awaiting approval: ${this.summary()}`);
    if (Date.now() >= this.deadlineAt) refuse(`the approval deadline ${new Date(this.deadlineAt).toISOString()} has passed`);
    if (statement.promotionId !== this.subject.id) refuse(`the statement is for ${statement.promotionId}, not ${this.subject.id}`);
    if (this.subject.runId !== undefined && statement.runId !== this.subject.runId) {
      refuse(
        statement.runId === undefined
          ? `the statement names no run; ${this.subject.id} is run ${this.subject.runId}: sign a fresh one`
          : `the statement is for run ${statement.runId} of ${this.subject.id}, not this run ${this.subject.runId}: a vote counts in one run only`,
      );
    }
    if (statement.digest !== this.subject.digest) refuse(`the statement is for digest ${statement.digest}, but ${this.subject.id} promotes ${this.subject.digest}`);
    const entry = this.policy.roster[statement.approver];
    if (!entry) refuse(`${statement.approver} is not ${this.subject.role ?? 'in the approver roster'}`);
    if (decision.passkey !== undefined) {
      const checked = passkeyAssertionProblem(decision.statement, { ...decision.passkey, signature: decision.signature }, entry.passkeys);
      if ('problem' in checked) refuse(`${statement.approver}'s passkey decision does not hold: ${checked.problem}`);
    } else if (!entry.publicKeyHex || !verifyStatementSignature(decision.statement, decision.signature, entry.publicKeyHex)) {
      refuse(`the signature does not verify with ${statement.approver}'s roster key ${entry.fingerprint?.slice(0, 16) ?? '(none: passkeys only)'}`);
    }
    const signedAt = Date.parse(statement.time);
    if (Number.isNaN(signedAt)) refuse(`statement time "${statement.time}" is not a timestamp`);
    if (signedAt < this.openedAt - CLOCK_SKEW_MS || signedAt > Date.now() + CLOCK_SKEW_MS) {
      refuse(`the statement was signed at ${statement.time}, outside this approval window (opened ${new Date(this.openedAt).toISOString()}): sign a fresh one`);
    }
    if (!this.policy.groups.some((g) => g.members.includes(statement.approver))) {
      refuse(`${statement.approver} is in none of the approver groups (${this.policy.groups.map((g) => g.name).join(', ')})`);
    }
    const excluded = this.excluded.get(statement.approver);
    if (excluded) refuse(`${statement.approver} may not approve ${this.subject.id}: ${excluded}`);
    // Who may vote is settled first; then whether the vote was signed over the pack shown now.
    const stale = this.evidence.refusal(statement.evidence);
    if (stale) {
      const readFirst = mayReadFirst && stale.type === 'EVIDENCE_UNKNOWN' && this.checkEvidence !== undefined && /^sha256:[0-9a-f]{64}$/.test(String(statement.evidence));
      if (!readFirst) throw ApplicationFailure.nonRetryable(stale.message, stale.type);
      const sinceVoteRead = Date.now() - this.lastReadForVote;
      if (this.reading === undefined && sinceVoteRead < MIN_EVIDENCE_CHECK_MS) {
        throw ApplicationFailure.nonRetryable(
          `${stale.message} (a vote made the gate read the pack ${Math.round(sinceVoteRead / 1000)} s ago; votes make it read again at most once a minute)`,
          stale.type,
        );
      }
    }
    if (this.votes.some((v) => v.approver === statement.approver)) refuse(`${statement.approver} has already voted on ${this.subject.id}`);
    if (statement.decision === 'reject' && !statement.reason?.trim()) refuse('a rejection needs a reason');
    if (this.outcome() !== 'pending') refuse(`${this.subject.id} is already decided (${this.summary()})`);
  }

  /**
   * Sends a notification without holding up the gate, after those sent before it (so a reminder
   * is never overtaken by the escalation that follows it); its failure is counted, never fatal.
   */
  private notifyBeside(kind: NotificationKind, to: string[]): void {
    if (!this.policy.webhookUrl) return;
    const message = this.message(kind, to);
    this.inFlight += 1;
    this.delivering = this.delivering.then(() => this.deliver(message)).finally(() => (this.inFlight -= 1));
  }

  /** The gate's ending, awaited (see notifyEnding). */
  private async notify(kind: NotificationKind, to: string[]): Promise<void> {
    if (!this.policy.webhookUrl) return;
    await this.deliver(this.message(kind, to), notifyEnding);
  }

  /** What is said is fixed when it happens, not when the webhook is reached. */
  private message(kind: NotificationKind, to: string[]) {
    return {
      kind,
      subject: this.subject.id,
      digest: this.subject.digest,
      to,
      summary: this.summary(),
      deadline: this.deadlineAt ? new Date(this.deadlineAt).toISOString() : undefined,
      reminders: this.reminders,
      at: new Date().toISOString(),
      ...(this.evidence.current ? { evidence: this.evidence.current.digest } : {}),
      ...(kind === 'evidence-changed' ? { why: `the evidence pack changed (${this.evidence.current?.earlier.at(-1)} -> ${this.evidence.current?.digest}): votes signed over the earlier pack no longer count; read it again and sign over the new one` } : {}),
      about: this.subject.noun ?? 'promotion',
      // While the gate is open, the message says how to join; a closed gate asks nothing of anyone.
      ...(this.state === 'OPEN' ? { command: `countersign approve ${this.subject.id} --as NAME --key FILE` } : {}),
    };
  }

  private async deliver(message: ReturnType<ApprovalGate['message']>, send = notify): Promise<void> {
    try {
      await send(this.policy.webhookUrl!, message);
    } catch (err) {
      this.notificationFailures += 1;
      log.warn('notification failed', { kind: message.kind, error: (err as Error).message });
    }
  }
}

/** True when this run's history should end here and go on in a fresh run. */
function historyIsLong(): boolean {
  const info = workflowInfo();
  return info.continueAsNewSuggested || info.historyLength > GATE_HISTORY_EVENTS_LIMIT;
}
