/** The first page: every promotion and chart release waiting at the approval gate. */
import type { WaitingRun } from '../../client/waiting';
import { html, layout, shortDigest, timeLeft } from './layout';

export function waitingPage(runs: WaitingRun[], watch: string): string {
  const rows = runs.map(
    (run) => html`<tr data-id="${run.promotionId}">
<td>${run.kind === 'chart' ? 'chart release' : 'image'}</td>
<td><a href="/${run.kind === 'chart' ? 'charts' : 'promotions'}/${encodeURIComponent(run.promotionId)}">${run.promotionId}</a></td>
<td>${run.target}</td>
<td title="${run.digest}"><code>${shortDigest(run.digest)}</code></td>
<td>!${groups(run)}</td>
<td>${run.approval?.deadline ?? ''}<br><small>${timeLeft(run.approval?.msLeft)}</small></td>
<td>!${votes(run)}</td>
</tr>`,
  );
  const body = runs.length
    ? html`<h1>Waiting for approval</h1>
<table class="waiting">
<thead><tr><th>kind</th><th>id</th><th>target</th><th>digest</th><th>groups</th><th>deadline</th><th>votes</th></tr></thead>
<tbody>!${rows}</tbody>
</table>`
    : html`<h1>Waiting for approval</h1><p class="empty">Nothing is waiting for approval.</p>`;
  return layout({ title: 'Waiting for approval', watch }, body);
}

function groups(run: WaitingRun): string {
  if (!run.approval) return html`<span class="muted">no answer from the gate</span>`;
  return html`<ul class="groups">!${run.approval.groups.map((g) => html`<li>${g.name}: ${g.have} of ${g.required}${g.missing > 0 ? ` (${g.missing} missing)` : ''}</li>`)}</ul>`;
}

function votes(run: WaitingRun): string {
  const list = run.approval?.votes ?? [];
  if (list.length === 0) return html`<span class="muted">none yet</span>`;
  return html`<ul class="votes">!${list.map((v) => html`<li class="${v.decision}">${v.approver} ${v.decision === 'approve' ? 'approved' : 'rejected'}${v.reason ? `: ${v.reason}` : ''}</li>`)}</ul>`;
}
