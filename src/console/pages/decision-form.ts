/**
 * Approve or reject with a passkey, on a promotion's or chart release's evidence page (script:
 * /static/passkey.js). `base` is the run's page path (/promotions/<id> or /charts/<encoded id>):
 * the script posts to its /statement and /decide.
 */
import { html } from 'ghtml';

function decisionForm(base: string, askApprover: boolean): string {
  return html`<section id="decide"><h2>Your decision</h2>
<form id="decision" data-base="${base}">
!${askApprover ? html`<label>Approver <input id="decision-approver" required maxlength="128"></label>` : ''}
<label>Reason <input id="decision-reason" maxlength="2048" placeholder="required to reject"></label>
<button type="submit" name="decision" value="approve" id="approve">Approve with passkey</button>
<button type="submit" name="decision" value="reject" id="reject">Reject with passkey</button>
</form>
<p id="result" role="status"></p>
<p class="muted">Your passkey signs the statement naming this run and digest; the workflow checks that signature against the worker's roster.</p>
<script src="/static/passkey.js" defer></script>
</section>`;
}

/**
 * Where the gate has closed (no form), the line that shows the answer to the approver's own decision
 * once the page has reloaded under it: static/passkey.js fills it from what it kept, or leaves it hidden.
 */
function decisionAnswer(): string {
  return html`<p id="result" role="status" hidden></p>
<script src="/static/passkey.js" defer></script>`;
}

/** The form while the gate is open, and the answer's line once it has closed. */
export function decisionPart(base: string, gateOpen: boolean, askApprover: boolean): string {
  return gateOpen ? decisionForm(base, askApprover) : decisionAnswer();
}
