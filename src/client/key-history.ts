/**
 * The governance audit trail: every key ceremony, rotation, revocation and compromise campaign, with who asked, who
 * joined or co-signed, when, and how it ended. Read from Temporal (visibility, then each run's
 * result or query) and completed from the trust index, which keeps the same facts after
 * Temporal's retention has dropped the runs.
 */
import type { Client } from '@temporalio/client';
import { CountersignError } from '../errors';
import { KEY_CEREMONY_WORKFLOW_TYPE, KEY_ROTATION_WORKFLOW_TYPE, ceremonyIdFor, type CeremonyStatus, type RotationStatus } from '../../workflows/key-ceremony-messages';
import { KEY_REVOCATION_WORKFLOW_TYPE, type RevocationStatus } from '../../workflows/key-revocation-messages';
import { KEY_CAMPAIGN_WORKFLOW_TYPE, type CampaignStatus } from '../../workflows/key-campaign-messages';
import type { TrustKey } from '../trust/index-file';
import { keyWorkflowStatus, type KeyWorkflowStatus } from './trust';

export type HistoryKind = 'ceremony' | 'rotation' | 'revocation' | 'campaign';
export const HISTORY_KINDS: readonly HistoryKind[] = ['ceremony', 'rotation', 'revocation', 'campaign'];

export interface HistoryEntry {
  kind: HistoryKind;
  /** The workflow id (`key-ceremony-…`, `key-rotation-…`, `key-revocation-…`). */
  id: string;
  trust: string;
  /** The run's state (PUBLISHED, DONE, REVOKED, REFUSED, EXPIRED, ...), or the index's word for it. */
  state: string;
  /** The governance member who asked (for a refused request: who it claimed to be). */
  requestedBy?: string;
  /** Custodians who joined a ceremony, governance members who co-signed a revocation; a rejection counts too. */
  joined: Array<{ who: string; decision: 'approve' | 'reject'; at: string; reason?: string }>;
  startedAt?: string;
  closedAt?: string;
  /** One line: what it made, retired or revoked, or why it did not. */
  result: string;
  /** Key ids it concerns (the key made, retired or revoked). */
  keys: string[];
  /** temporal: read from the run; index: only the trust index still has it. */
  source: 'temporal' | 'index';
}

const TYPES: Record<string, HistoryKind> = {
  [KEY_CEREMONY_WORKFLOW_TYPE]: 'ceremony',
  [KEY_ROTATION_WORKFLOW_TYPE]: 'rotation',
  [KEY_REVOCATION_WORKFLOW_TYPE]: 'revocation',
  [KEY_CAMPAIGN_WORKFLOW_TYPE]: 'campaign',
};

const PREFIX: Record<HistoryKind, string> = { ceremony: 'key-ceremony-', rotation: 'key-rotation-', revocation: 'key-revocation-', campaign: 'key-campaign-' };

/** The trust store a key workflow id names: `key-ceremony-<trust>-<time>`, `key-revocation-<trust>-<key id>`. */
export function trustOfWorkflowId(kind: HistoryKind, id: string): string | undefined {
  const rest = id.startsWith(PREFIX[kind]) ? id.slice(PREFIX[kind].length) : undefined;
  if (rest === undefined) return undefined;
  const tail = kind === 'revocation' || kind === 'campaign' ? /-(cosign|openpgp)-\d{4}-\d{2}-\d{2}-[0-9a-f]+$/ : /-\d{4}-\d{2}-\d{2}T[^-]*$/;
  const match = tail.exec(rest);
  return match ? rest.slice(0, match.index) : undefined;
}

export interface HistoryFilter {
  trust?: string;
  kinds?: readonly HistoryKind[];
  /** At most this many runs read from Temporal (default 200). */
  limit?: number;
}

/** Ceremonies, rotations and revocations from Temporal, newest first. */
export async function keyHistoryFromTemporal(client: Client, filter: HistoryFilter = {}): Promise<HistoryEntry[]> {
  const kinds = filter.kinds ?? HISTORY_KINDS;
  const types = Object.entries(TYPES).filter(([, k]) => kinds.includes(k)).map(([t]) => `'${t}'`);
  const limit = filter.limit ?? 200;
  const found: Array<{ kind: HistoryKind; id: string; runId: string; startedAt: string; closedAt?: string }> = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType IN (${types.join(', ')})` })) {
    const kind = TYPES[wf.type];
    // A run that continued as new is the same campaign as the run it handed over to, which is listed.
    if (wf.status.name === 'CONTINUED_AS_NEW') continue;
    if (filter.trust !== undefined && trustOfWorkflowId(kind, wf.workflowId) !== filter.trust) continue;
    // Every run counts: a rotation started again under a used id is an event of its own.
    found.push({ kind, id: wf.workflowId, runId: wf.runId, startedAt: wf.startTime.toISOString(), closedAt: wf.closeTime?.toISOString() });
    if (found.length >= limit) break;
  }
  const entries: HistoryEntry[] = [];
  for (const row of found) {
    let status: KeyWorkflowStatus;
    try {
      status = await keyWorkflowStatus(client, row.id, row.runId);
    } catch (err) {
      // A run that ended without a result (terminated, timed out) has only its visibility row.
      if (!(err instanceof CountersignError) && !(err instanceof Error && /terminated|timed out|cancel/i.test(err.message))) throw err;
      entries.push({ kind: row.kind, id: row.id, trust: trustOfWorkflowId(row.kind, row.id) ?? '', state: 'ENDED', joined: [], startedAt: row.startedAt, closedAt: row.closedAt, result: (err as Error).message, keys: [], source: 'temporal' });
      continue;
    }
    entries.push({ ...fromStatus(status), startedAt: row.startedAt, ...(row.closedAt ? { closedAt: row.closedAt } : {}), source: 'temporal' });
  }
  // A rotation was asked for by whoever asked for its ceremony: the first run of its ceremony id started after it.
  for (const e of entries) {
    if (e.kind !== 'rotation') continue;
    const ceremony = entries
      .filter((c) => c.kind === 'ceremony' && c.id === ceremonyIdFor(e.id) && (c.startedAt ?? '') >= (e.startedAt ?? ''))
      .sort((a, b) => ((a.startedAt ?? '') < (b.startedAt ?? '') ? -1 : 1))[0];
    if (ceremony) Object.assign(e, { requestedBy: ceremony.requestedBy, joined: ceremony.joined });
  }
  return entries;
}

function votes(approval: { votes: Array<{ approver: string; decision: 'approve' | 'reject'; acceptedAt: string; reason?: string }> }) {
  return approval.votes.map((v) => ({ who: v.approver, decision: v.decision, at: v.acceptedAt, ...(v.reason ? { reason: v.reason } : {}) }));
}

function fromStatus(found: KeyWorkflowStatus): Omit<HistoryEntry, 'source' | 'startedAt' | 'closedAt'> {
  if (found.type === 'ceremony') return ceremonyEntry(found.status);
  if (found.type === 'rotation') return rotationEntry(found.status);
  if (found.type === 'campaign') return campaignEntry(found.status);
  // Roots are not among the kinds listed (TYPES); one named here is caught and listed as its visibility row.
  if (found.type === 'root') throw new CountersignError('UNKNOWN_PROMOTION', `${found.status.rootId} is a trust root, not a key history entry`);
  return revocationEntry(found.status);
}

function ceremonyEntry(s: CeremonyStatus): Omit<HistoryEntry, 'source' | 'startedAt' | 'closedAt'> {
  const result =
    s.state === 'PUBLISHED' && s.key
      ? `published ${s.key.id} (${s.key.file})`
      : s.state === 'NOTHING_MADE'
        ? (s.note ?? 'nothing made')
        : s.error ?? (s.state === 'AWAITING_CUSTODIANS' ? `waiting: ${s.approval.summary}` : s.state.toLowerCase());
  return { kind: 'ceremony', id: s.ceremonyId, trust: s.trust, state: s.state, ...(s.initiator ? { requestedBy: s.initiator } : {}), joined: votes(s.approval), result, keys: s.state === 'PUBLISHED' && s.key ? [s.key.id] : [] };
}

function rotationEntry(s: RotationStatus): Omit<HistoryEntry, 'source' | 'startedAt' | 'closedAt'> {
  const retired = s.retiring.filter((r) => r.retiredAt).map((r) => r.id);
  const waiting = s.retiring.filter((r) => !r.retiredAt).map((r) => `${r.id} (${r.inFlight} pinned)`);
  const parts = [s.newKey ? `new key ${s.newKey.id}` : 'no key made', ...(retired.length ? [`retired ${retired.join(', ')}`] : []), ...(waiting.length ? [`retiring ${waiting.join(', ')}`] : [])];
  const result = s.error ? `${parts.join('; ')}: ${s.error}` : s.note ? `${parts.join('; ')}: ${s.note}` : parts.join('; ');
  const trust = trustOfWorkflowId('rotation', s.rotationId) ?? '';
  return { kind: 'rotation', id: s.rotationId, trust, state: s.state, joined: [], result, keys: [...(s.newKey ? [s.newKey.id] : []), ...s.retiring.map((r) => r.id)] };
}

function revocationEntry(s: RevocationStatus): Omit<HistoryEntry, 'source' | 'startedAt' | 'closedAt'> {
  const result =
    s.state === 'REVOKED'
      ? `revoked ${s.keyId}: ${s.reason} (signed by ${s.signers.join(', ')})`
      : s.error ?? (s.state === 'AWAITING_SIGNATURES' ? `waiting: ${s.approval.summary}` : s.state.toLowerCase());
  return { kind: 'revocation', id: s.revocationId, trust: s.trust, state: s.state, ...(s.requester ? { requestedBy: s.requester } : {}), joined: votes(s.approval), result, keys: s.keyId ? [s.keyId] : [] };
}

function campaignEntry(s: CampaignStatus): Omit<HistoryEntry, 'source' | 'startedAt' | 'closedAt'> {
  const counts = s.results.length > 0 || s.state === 'DONE' ? Object.entries(s.counts).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ') || 'nothing signed by it was found' : '';
  const result = s.error ? (counts ? `${counts}: ${s.error}` : s.error) : s.state === 'AWAITING_APPROVAL' ? `waiting: ${s.approval.summary} (${s.items.length} item(s))` : counts || s.state.toLowerCase();
  return { kind: 'campaign', id: s.campaignId, trust: s.trust, state: s.state, ...(s.requester ? { requestedBy: s.requester } : {}), joined: votes(s.approval), result: `campaign over ${s.keyId}: ${result}`, keys: s.keyId ? [s.keyId] : [] };
}

/**
 * The same facts from the index, for what Temporal no longer has (retention): each key's ceremony
 * (`issuance`), its retirement, its revocation (`revocation`). Events Temporal still lists are
 * not repeated: `fromTemporal` are the entries read from it.
 */
export function keyHistoryFromIndex(keys: TrustKey[], trust: string, fromTemporal: HistoryEntry[], kinds: readonly HistoryKind[] = HISTORY_KINDS): HistoryEntry[] {
  const known = new Set(fromTemporal.map((e) => e.id));
  const retiredByRotation = new Set(fromTemporal.filter((e) => e.kind === 'rotation').flatMap((e) => e.keys));
  const out: HistoryEntry[] = [];
  for (const k of keys) {
    const ceremony = k.issuance?.workflowId ?? k.ceremony;
    if (kinds.includes('ceremony') && ceremony && !known.has(ceremony)) {
      out.push({
        kind: 'ceremony',
        id: ceremony,
        trust,
        state: 'PUBLISHED',
        ...(k.issuance ? { requestedBy: k.issuance.requester } : {}),
        joined: (k.issuance?.custodians ?? []).map((who) => ({ who, decision: 'approve' as const, at: k.issuance!.at })),
        closedAt: k.issuance?.at ?? k.validFrom,
        result: `published ${k.id} (${k.file})`,
        keys: [k.id],
        source: 'index',
      });
    }
    if (kinds.includes('rotation') && k.status === 'retired' && !retiredByRotation.has(k.id)) {
      out.push({ kind: 'rotation', id: `retired ${k.id}`, trust, state: 'RETIRED', joined: [], closedAt: k.statusChangedAt, result: `retired ${k.id}: ${k.reason}`, keys: [k.id], source: 'index' });
    }
    for (const c of kinds.includes('campaign') ? (k.campaigns ?? []) : []) {
      if (known.has(c.workflowId)) continue;
      const counts = Object.entries(c.counts).filter(([, n]) => n > 0).map(([n, v]) => `${v} ${n}`).join(', ') || 'nothing signed by it was found';
      out.push({
        kind: 'campaign',
        id: c.workflowId,
        trust,
        state: c.state,
        requestedBy: c.requester,
        joined: c.approvers.map((who) => ({ who, decision: 'approve' as const, at: c.at })),
        closedAt: c.at,
        result: `campaign over ${k.id}: ${counts}`,
        keys: [k.id],
        source: 'index',
      });
    }
    if (kinds.includes('revocation') && k.revocation && !known.has(k.revocation.workflowId)) {
      out.push({
        kind: 'revocation',
        id: k.revocation.workflowId,
        trust,
        state: 'REVOKED',
        requestedBy: k.revocation.signers[0],
        joined: k.revocation.signers.slice(1).map((who) => ({ who, decision: 'approve' as const, at: k.revocation!.at })),
        closedAt: k.revocation.at,
        result: `revoked ${k.id}: ${k.revocation.reason} (signed by ${k.revocation.signers.join(', ')})`,
        keys: [k.id],
        source: 'index',
      });
    }
  }
  return out;
}

/** Newest first, by when it ended (or started, while running). */
export function sortHistory(entries: HistoryEntry[]): HistoryEntry[] {
  const at = (e: HistoryEntry) => e.closedAt ?? e.startedAt ?? '';
  return [...entries].sort((a, b) => (at(a) < at(b) ? 1 : at(a) > at(b) ? -1 : a.id.localeCompare(b.id)));
}
