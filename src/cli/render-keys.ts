/** Key ceremonies, rotations, revocations, campaigns and trust roots as a person reads them (keys status, status, keys root, keys history). */
import type { CampaignStatus, CeremonyStatus, RevocationStatus, RotationStatus } from '../client/types';
import type { HistoryEntry } from '../client/key-history';
import type { KeyWorkflowStatus } from '../client/trust';
import type { RootStatus } from '../client/root';
import { formatCalendar } from '../duration';

/** A ceremony in a few lines: who asked, the custodians, and what it made (or why nothing). */
export function renderCeremony(s: CeremonyStatus): string {
  const lines = [`${s.ceremonyId}  ${s.state}  (${s.kind ?? 'key'} for trust ${s.trust}, requested by ${s.initiator || 'unknown'})`, `custodians: ${s.approval.summary}`];
  if (s.planDigest) lines.push(`plan: ${s.planDigest}${s.location ? `, published to ${s.location.publishDir}` : ''}`);
  if (s.state === 'AWAITING_CUSTODIANS') lines.push(`custodians join with: countersign approve ${s.ceremonyId} --as NAME --key FILE`);
  if (s.state === 'PUBLISHED' && s.key) lines.push(`published: ${s.key.id} ${s.key.file} ${s.key.fingerprint}`);
  if (s.note) lines.push(s.note);
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

/** A rotation in a few lines: its ceremony, the key it made, each key it retires. */
export function renderRotation(s: RotationStatus): string {
  const made = s.newKey ? `, new key ${s.newKey.id}` : s.state === 'CEREMONY' ? '' : ', no key made';
  const lines = [`${s.rotationId}  ${s.state}  ceremony ${s.ceremonyId}${made}`];
  for (const r of s.retiring) lines.push(`  retiring ${r.id}: ${r.retiredAt ? `retired ${r.retiredAt}` : `${r.inFlight} run(s) pinned, not before ${r.retireAfter ?? 'now'}`}`);
  if (s.note) lines.push(s.note);
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

/** One revocation in a few lines: state, key, who signed, what is still needed. */
export function renderRevocation(s: RevocationStatus): string {
  const lines = [`${s.revocationId}  ${s.state}  key ${s.keyId} of trust store ${s.trust}, requested by ${s.requester || 'unknown'}: ${s.reason}`];
  if (s.signers.length > 0) lines.push(`signed by: ${s.signers.join(', ')}${s.required ? ` (${s.signers.length} of ${s.required} needed)` : ''}`);
  if (s.state === 'AWAITING_SIGNATURES') {
    lines.push(`waiting: ${s.approval.summary}; the key stays in use until then`);
    lines.push(`governance members co-sign with: countersign approve ${s.revocationId} --as NAME --key FILE`);
  }
  if (s.key?.status === 'revoked') lines.push(`revoked ${s.key.id} (${s.key.fingerprint}) at ${s.key.statusChangedAt}: ${s.key.reason}`);
  if (s.kms) lines.push(s.kms.disabled ? `disabled in KMS: ${s.kms.ref}` : `NOT disabled in KMS (disable it by hand): ${s.kms.error}`);
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

/** One audit trail entry: when, what, its state and id; then who asked, who joined, and the result. */
export function renderHistoryEntry(e: HistoryEntry): string {
  const at = e.closedAt ?? e.startedAt;
  const head = `${at ? formatCalendar(new Date(at)) : '-'}  ${e.kind.padEnd(10)} ${e.state.padEnd(18)} ${e.id}${e.source === 'index' ? '  (from the index)' : ''}`;
  const who = [
    ...(e.requestedBy ? [`requested by ${e.requestedBy}`] : []),
    ...(e.joined.length ? [`${e.kind === 'revocation' ? 'co-signed' : e.kind === 'campaign' ? 'approved' : 'joined'} by ${e.joined.map((j) => `${j.who}${j.decision === 'reject' ? ` (rejected${j.reason ? `: ${j.reason}` : ''})` : ''}`).join(', ')}`] : []),
  ];
  return [head, ...(who.length ? [`    ${who.join('; ')}`] : []), `    ${e.result}`].join('\n');
}

/**
 * A campaign: state, key and why; the plan (every item and its action) while approvers look at
 * it, progress while it runs, every item's outcome when done.
 */
export function renderCampaign(s: CampaignStatus): string {
  const lines = [`${s.campaignId}  ${s.state}  key ${s.keyId} of trust store ${s.trust}, requested by ${s.requester || 'unknown'}: ${s.reason}`];
  if (s.signingKey) lines.push(`re-signs with: ${s.signingKey.id} (${s.signingKey.fingerprint.slice(0, 16)})`);
  if (s.planDigest) lines.push(`plan ${s.planDigest}: ${s.items.length} item(s)${s.capped ? ' (capped: more exist, run another campaign after this one)' : ''}`);
  const done = new Map(s.results.map((r) => [r.id, r]));
  for (const item of s.items) {
    const r = done.get(item.id);
    const found = item.found.join('+');
    lines.push(`  ${item.action.padEnd(10)} ${item.repository || item.target}@${item.digest}  (${item.target}; found in ${found})${r ? `  -> ${r.outcome}: ${r.detail}` : item.note ? `  ${item.note}` : ''}`);
  }
  for (const note of s.notes ?? []) lines.push(`note: ${note}`);
  if (s.state === 'AWAITING_APPROVAL') {
    lines.push(`approval: ${s.approval.summary}; nothing changes until then`);
    lines.push(`approvers approve this plan with: countersign approve ${s.campaignId} --as NAME --key FILE`);
  } else if (s.approvedBy?.length) lines.push(`approved by: ${s.approvedBy.join(', ')}`);
  if (s.state === 'RUNNING' && s.rate) {
    lines.push(`progress: ${s.results.length} of ${s.items.length} done; at most ${s.rate.perMinute} per ${Math.round(s.rate.windowMs / 1000)} s${s.rate.waitingUntil ? `, next window ${s.rate.waitingUntil}` : ''}`);
  }
  if (s.results.length > 0) lines.push(`outcome: ${Object.entries(s.counts).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  if (s.indexRecorded) lines.push(`recorded in the index entry of ${s.keyId}`);
  if (s.error) lines.push(`error: ${s.error}`);
  return lines.join('\n');
}

/** Whichever key workflow it is. */
export function renderKeyWorkflow(found: KeyWorkflowStatus): string {
  if (found.type === 'ceremony') return renderCeremony(found.status);
  if (found.type === 'rotation') return renderRotation(found.status);
  if (found.type === 'campaign') return renderCampaign(found.status);
  if (found.type === 'root') return renderRoot(found.status);
  return renderRevocation(found.status);
}

/** A trust root in a few lines, as `keys root` and `keys status` print it: the draft, who signed, what is still needed. */
export function renderRoot(s: RootStatus, trust = s.trust): string {
  const store = s.trust || trust;
  const lines = [`trust root ${s.rootId} (store ${store}, version ${s.version}): ${s.state}`];
  if (s.digest) lines.push(`  digest ${s.digest}`);
  if (s.text) {
    try {
      const root = JSON.parse(s.text) as { governance: Array<{ name: string }>; threshold: number; indexKey: { fingerprint: string }; expires: string };
      lines.push(`  names index key ${root.indexKey.fingerprint.slice(0, 16)}; governance ${root.governance.map((m) => m.name).join(', ')} (${root.threshold} sign the next root); expires ${root.expires}`);
    } catch {
      // The text is shown as the workflow holds it only when it parses; `--json` has it whole.
    }
  }
  const signed = s.approval.votes.filter((v) => v.decision === 'approve').map((v) => v.approver);
  if (s.state === 'AWAITING_SIGNATURES') {
    lines.push(`  signed by ${signed.join(', ') || 'nobody yet'}; ${s.approval.summary}`);
    lines.push(`  others sign with: countersign keys root --trust ${store} --as NAME --key FILE`);
  }
  if (s.state === 'PUBLISHED') lines.push(`  published ${s.file} (signed by ${(s.signers ?? signed).join(', ')})`);
  if (s.error) lines.push(`  ${s.error}`);
  return lines.join('\n');
}
