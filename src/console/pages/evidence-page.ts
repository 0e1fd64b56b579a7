/**
 * A promotion's evidence pack, with its digest, beside what is live: the gate (votes, deadline)
 * and the timeline, which are not part of the pack.
 */
import type { PromotionStatus } from '../../client/promotion-record';
import type { BuildFacts } from '../../provenance/slsa';
import { FACT_NAMES, type EvidencePack } from '../../evidence/pack';
import type { SbomChanges } from '../../evidence/sbom-diff';
import { html, layout, timeLeft } from './layout';

export interface EvidenceView {
  pack: EvidencePack;
  digest: string;
  status: PromotionStatus;
  /** The run's page in the Temporal Web UI, when the console knows the UI's address (never from the workflow). */
  temporalUi?: string;
  /** With passkeys configured: the approve/reject form while the gate is open, the line showing the approver's own answer once it has closed (src/console/pages/decision-form.ts). */
  decision?: string;
}

const FACT_LABELS: Record<(typeof FACT_NAMES)[number], string> = {
  sourceRepo: 'source repository',
  commit: 'commit',
  ref: 'ref',
  builderId: 'builder',
  buildCommand: 'build command',
  commitAuthor: 'commit author',
};

export function evidencePage(view: EvidenceView, watch: string): string {
  const { pack, status } = view;
  const body = html`<h1>${pack.artifact.target}: ${pack.promotionId}</h1>
<section id="artifact">
<dl>
<dt>state</dt><dd class="state">${status.state}</dd>
<dt>artifact</dt><dd><code>${pack.artifact.repository}@${pack.artifact.digest}</code></dd>
<dt>initiator</dt><dd>${status.initiator ?? ''}</dd>
<dt>evidence pack digest</dt><dd><code id="pack-digest">${view.digest}</code> <a href="/promotions/${encodeURIComponent(pack.promotionId)}/evidence.json">JSON</a></dd>
!${status.approval.evidence && status.approval.evidence.digest !== view.digest ? html`<dt>not yet counted</dt><dd id="pack-ahead" class="pending">This pack is newer than the one the gate last read (<code>${status.approval.evidence.digest}</code>): votes signed over it count once the gate reads it again, and votes over the older one stop counting then.</dd>` : ''}
!${view.temporalUi ? html`<dt>history</dt><dd><a id="temporal-ui" href="${view.temporalUi}">Temporal Web UI</a></dd>` : ''}
</dl>
</section>
!${approvalSection(status)}
!${view.decision ?? ''}
<section id="checks"><h2>Platform verify</h2>
<table><thead><tr><th></th><th>check</th><th>result</th></tr></thead><tbody>
!${pack.checks.map((c) => html`<tr class="${c.ok ? 'ok' : 'failed'}"><td>${c.ok ? '✓' : '✗'}</td><td>${c.name}</td><td>${c.message}</td></tr>`)}
</tbody></table>
!${pack.notices.length ? html`<ul class="notices">!${pack.notices.map((n) => html`<li>${n}</li>`)}</ul>` : ''}
</section>
!${provenanceSection(pack)}
!${sbomSection(pack.sbom)}
!${policySection(pack)}
!${timelineSection(status)}`;
  return layout({ title: pack.promotionId, watch }, body);
}

/** A promotion that has not reached the end of platform verify: state and timeline only. */
export function pendingPage(status: PromotionStatus, why: string, watch: string): string {
  const body = html`<h1>${status.target}: ${status.promotionId}</h1>
<p class="pending">${why}</p>
!${timelineSection(status)}`;
  return layout({ title: status.promotionId, watch }, body);
}

export function errorPage(title: string, message: string): string {
  return layout({ title }, html`<h1>${title}</h1><p class="error">${message}</p>`);
}

export function approvalSection(status: Pick<PromotionStatus, 'approval'>): string {
  const a = status.approval;
  return html`<section id="approval"><h2>Approval</h2>
<p class="summary">${a.summary}</p>
<dl><dt>deadline</dt><dd>${a.deadline ?? ''} ${a.msLeft !== undefined ? `(${timeLeft(a.msLeft)} left)` : ''}</dd></dl>
<table class="groups"><thead><tr><th>group</th><th>have</th><th>required</th><th>may vote</th></tr></thead><tbody>
!${a.groups.map((g) => html`<tr><td>${g.name}</td><td>${g.have}</td><td>${g.required}</td><td>${g.eligible.join(', ')}</td></tr>`)}
</tbody></table>
<h3>Votes</h3>
!${a.votes.length
    ? html`<table class="votes"><thead><tr><th>approver</th><th>decision</th><th>reason</th><th>signed</th><th>counted for</th><th>key</th></tr></thead><tbody>
!${a.votes.map((v) => html`<tr class="vote ${v.decision}"><td>${v.approver}</td><td>${v.decision}</td><td>${v.reason ?? ''}</td><td>${v.signedAt}</td><td>${v.countedFor ?? ''}</td><td><code>${v.keyFingerprint.slice(0, 16)}</code></td></tr>`)}
</tbody></table>`
    : html`<p class="muted" id="no-votes">No votes yet.</p>`}
!${a.evidence ? html`<p id="gate-evidence">The gate counts votes signed over evidence pack <code>${a.evidence.digest}</code>${a.evidence.changedAt ? html` (changed ${a.evidence.changedAt})` : ''}.</p>` : ''}
!${a.dropped?.length ? html`<h3>No longer counted</h3><ul id="dropped">!${a.dropped.map((d) => html`<li>${d.approver} (${d.decision}): ${d.why}</li>`)}</ul>` : ''}
!${a.excluded.length ? html`<h3>May not approve</h3><ul>!${a.excluded.map((e) => html`<li>${e.approver}: ${e.why}</li>`)}</ul>` : ''}
</section>`;
}

function provenanceSection(pack: EvidencePack): string {
  const { candidate, released } = pack.provenance;
  const judged = candidate.judged ?? candidate.signed[0] ?? {};
  const before: Partial<BuildFacts> = released.signed[0] ?? {};
  const rows = FACT_NAMES.map((name) => {
    const now = judged[name];
    const then = before[name];
    const changed = released.signed.length > 0 && now !== then;
    return html`<tr data-fact="${name}" class="${changed ? 'changed' : ''}"><th>${FACT_LABELS[name]}</th><td>${now ?? '—'}</td><td>${then ?? '—'}</td></tr>`;
  });
  return html`<section id="provenance"><h2>Provenance</h2>
<table><thead><tr><th></th><th>this promotion</th><th>release <code>${released.tag}</code>!${released.digest ? html` → <code>${released.digest}</code>` : ''}</th></tr></thead>
<tbody>!${rows}</tbody></table>
!${released.note ? html`<p class="note">${released.note}</p>` : ''}
!${candidate.signed.length > 1 ? html`<p class="note">${candidate.signed.length} provenance attestations signed by the developer key on this digest; the table shows the one platform verify judged.</p>` : ''}
</section>`;
}

function sbomSection(sbom: EvidencePack['sbom']): string {
  const c: SbomChanges | undefined = sbom.changes;
  const none = c && !c.packages.added.length && !c.packages.removed.length && !c.packages.changed.length && !c.files.added.length && !c.files.removed.length && !c.files.changed.length;
  return html`<section id="sbom"><h2>SBOM changes against the release</h2>
!${sbom.note ? html`<p class="note">${sbom.note}</p>` : ''}
!${none ? html`<p>No changes.</p>` : ''}
!${c
    ? html`<ul class="sbom-changes">
!${c.packages.added.map((p) => html`<li class="added">package added: ${p.name} ${p.version}</li>`)}
!${c.packages.removed.map((p) => html`<li class="removed">package removed: ${p.name} ${p.version}</li>`)}
!${c.packages.changed.map((p) => html`<li class="changed">package ${p.name}: ${p.from} → ${p.to}</li>`)}
!${c.files.added.map((f) => html`<li class="added">file added: ${f}</li>`)}
!${c.files.removed.map((f) => html`<li class="removed">file removed: ${f}</li>`)}
!${c.files.changed.map((f) => html`<li class="changed">file changed: ${f}</li>`)}
</ul>`
    : ''}
</section>`;
}

function policySection(pack: EvidencePack): string {
  const { policy } = pack;
  return html`<section id="policy"><h2>Policy in force</h2>
<dl>
<dt>policy digest</dt><dd><code>${policy.digest}</code></dd>
<dt>source repository</dt><dd>${policy.rules.sourceRepo}</dd>
<dt>builders</dt><dd>${policy.rules.builderIds.join(', ')}</dd>
<dt>build command</dt><dd>${policy.rules.buildCommand ?? '(any)'}</dd>
<dt>commit required</dt><dd>${policy.rules.requireCommit ? 'yes' : 'no'}</dd>
<dt>refs</dt><dd>${policy.rules.refs?.join(', ') ?? '(any)'}</dd>
<dt>groups</dt><dd>!${policy.approval.groups.map((g) => html`<div>${g.name}: ${g.required} of ${g.members.join(', ')}</div>`)}</dd>
<dt>one rejection ends it</dt><dd>${policy.approval.vetoOnReject ? 'yes' : 'no'}</dd>
<dt>roster</dt><dd>!${policy.approval.roster.map((r) => html`<div>${r.name} <code>${r.fingerprint.slice(0, 16)}</code></div>`)}</dd>
<dt>developer key</dt><dd><code>${policy.keys.developer}</code></dd>
<dt>platform key</dt><dd><code>${policy.keys.platform}</code></dd>
</dl>
</section>`;
}

export function timelineSection(status: { timeline: Array<{ step: string; status: string; startedAt: string; finishedAt?: string; detail?: string; error?: string }> }): string {
  return html`<section id="timeline"><h2>Timeline</h2>
<ol>!${status.timeline.map((t) => html`<li class="${t.status}"><strong>${t.step}</strong> ${t.status} <small>${t.startedAt}${t.finishedAt ? ` → ${t.finishedAt}` : ''}</small>!${t.detail ? html`<div>${t.detail}</div>` : ''}!${t.error ? html`<div class="error">${t.error}</div>` : ''}</li>`)}</ol>
</section>`;
}
