/** The login and enrolment pages; their script is /static/passkey.js (the CSP allows no inline script). */
import { html } from 'ghtml';

export function authPage(kind: 'login' | 'enrol', configured: boolean): string {
  const title = kind === 'login' ? 'Log in' : 'Enrol a passkey';
  const body = !configured
    ? html`<h1>${title}</h1><p class="error">Passkeys need <code>console.origin</code> in the worker's configuration (docs/approvals.md, Passkeys).</p>`
    : kind === 'login'
      ? html`<h1>Log in</h1>
<p>Approvers log in with a passkey listed in the worker's roster.</p>
<p><button id="login" type="button">Log in with a passkey</button></p>
<p id="result" role="status"></p>
<p class="muted">No passkey yet? <a href="/enrol">Enrol one</a>.</p>`
      : html`<h1>Enrol a passkey</h1>
<p>Enrolling creates a passkey and shows the lines the operator adds to the worker's configuration.
It does not make anyone an approver: the roster in that configuration does.</p>
<form id="enrol">
<label>Your name in the roster <input id="approver" name="approver" required maxlength="128" pattern="[A-Za-z0-9][A-Za-z0-9._@\\-]*"></label>
<label>What to call this passkey <input id="passkey-name" name="name" maxlength="128" placeholder="YubiKey 5C"></label>
<button type="submit">Create a passkey</button>
</form>
<p id="result" role="status"></p>
<pre id="snippet" hidden></pre>`;
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · countersign</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/passkey.js" defer></script>
</head>
<body>
<header><a href="/">countersign approvals</a></header>
<main>!${body}</main>
</body>
</html>`}`;
}
