/**
 * A chart release's evidence pack, with its digest, beside what is live: the gate, what was
 * published, and the timeline, which are not part of the pack.
 */
import type { ChartReleaseStatus } from '../../client/chart-record';
import type { ChartEvidencePack } from '../../evidence/chart-pack';
import { approvalSection, timelineSection } from './evidence-page';
import { html, layout } from './layout';

export interface ChartEvidenceView {
  pack: ChartEvidencePack;
  digest: string;
  status: ChartReleaseStatus;
  temporalUi?: string;
  /** With passkeys configured: the approve/reject form while the gate is open, the line showing the approver's own answer once it has closed (src/console/pages/decision-form.ts). */
  decision?: string;
}

export function chartEvidencePage(view: ChartEvidenceView, watch: string): string {
  const { pack, status } = view;
  const { chart, provenance } = pack;
  const body = html`<h1>${chart.target}: ${pack.releaseId}</h1>
<section id="artifact">
<dl>
<dt>state</dt><dd class="state">${status.state}</dd>
<dt>chart</dt><dd><code id="chart-file">${chart.fileName}</code> (${chart.name} ${chart.version})</dd>
<dt>digest</dt><dd><code id="chart-digest">${chart.digest}</code></dd>
<dt>initiator</dt><dd>${provenance.initiator}</dd>
<dt>evidence pack digest</dt><dd><code id="pack-digest">${view.digest}</code> <a href="/charts/${encodeURIComponent(pack.releaseId)}/evidence.json">JSON</a></dd>
!${view.temporalUi ? html`<dt>history</dt><dd><a id="temporal-ui" href="${view.temporalUi}">Temporal Web UI</a></dd>` : ''}
</dl>
</section>
!${approvalSection(status)}
!${view.decision ?? ''}
<section id="checks"><h2>Checks</h2>
<table><thead><tr><th></th><th>check</th><th>result</th></tr></thead><tbody>
!${pack.checks.map((c) => html`<tr class="${c.ok ? 'ok' : 'failed'}"><td>${c.ok ? '✓' : '✗'}</td><td>${c.name}</td><td>${c.message}</td></tr>`)}
</tbody></table>
</section>
<section id="provenance"><h2>Provenance</h2>
<dl>
<dt>packaged from</dt><dd><code>${provenance.chartDirectory}</code></dd>
<dt>requested by</dt><dd>${provenance.initiator}, in a signed start request for <code>${provenance.requested}</code></dd>
!${provenance.reopenedBy ? html`<dt>re-opened</dt><dd>by ${provenance.reopenedBy.reopener} after run ${provenance.reopenedBy.rejectedRunId}: ${provenance.reopenedBy.reason}</dd>` : ''}
<dt>.prov signed by</dt><dd>OpenPGP key <code>${provenance.signing.openpgp}</code>!${provenance.signing.trust ? html` (trust store key ${provenance.signing.trust})` : ''}, verified against <code>${provenance.signing.keyring}</code></dd>
!${provenance.signing.cosign ? html`<dt>sigstore bundle</dt><dd>cosign key <code>${provenance.signing.cosign.slice(0, 16)}</code></dd>` : ''}
</dl>
<p class="note">!${status.state === 'RELEASED' || status.state === 'VERIFYING' || status.state === 'PUBLISHING' ? html`The chart was signed after approval; the verify step's checks are listed above.` : html`Nothing is signed before approval: the <code>.prov</code> and bundle are made once the gate approves.`}</p>
</section>
<section id="publish"><h2>Publishing</h2>
<dl>
!${pack.publish.repositoryUrl ? html`<dt>chart repository</dt><dd>${pack.publish.repositoryUrl}</dd>` : ''}
!${pack.publish.oci ? html`<dt>OCI</dt><dd><code>${pack.publish.oci}</code></dd>` : ''}
!${status.published?.ociReference ? html`<dt>published</dt><dd><code id="published-oci">${status.published.ociReference}</code></dd>` : ''}
</dl>
</section>
<section id="policy"><h2>Policy in force</h2>
<dl>
<dt>policy digest</dt><dd><code>${pack.policy.digest}</code></dd>
<dt>groups</dt><dd>!${pack.policy.approval.groups.map((g) => html`<div>${g.name}: ${g.required} of ${g.members.join(', ')}</div>`)}</dd>
<dt>one rejection ends it</dt><dd>${pack.policy.approval.vetoOnReject ? 'yes' : 'no'}</dd>
<dt>roster</dt><dd>!${pack.policy.approval.roster.map((r) => html`<div>${r.name} <code>${r.fingerprint.slice(0, 16)}</code></div>`)}</dd>
</dl>
</section>
!${timelineSection(status)}`;
  return layout({ title: pack.releaseId, watch }, body);
}

/** A chart release the worker has not authorised (yet, or at all): state and timeline only. */
export function chartPendingPage(status: ChartReleaseStatus, why: string, watch: string): string {
  const body = html`<h1>${status.target}: ${status.releaseId}</h1>
<p class="pending">${why}</p>
!${timelineSection(status)}`;
  return layout({ title: status.releaseId, watch }, body);
}
