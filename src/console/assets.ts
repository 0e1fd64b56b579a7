/**
 * The console's only script and stylesheet, served from the console itself (the Content Security
 * Policy allows nothing else). The script reloads the page when the server says what it shows
 * has changed: a vote arrived, the state moved, the evidence changed.
 */
export const CONSOLE_JS = `'use strict';
(function () {
  var main = document.querySelector('main[data-watch]');
  var url = main && main.getAttribute('data-watch');
  if (!url || typeof EventSource === 'undefined') return;
  var source = new EventSource(url);
  source.addEventListener('change', function () {
    source.close();
    // A decision on its way (static/passkey.js marks it busy) reloads once it is answered, so its answer is not lost.
    if (main.hasAttribute('data-busy')) { main.setAttribute('data-stale', '1'); return; }
    window.location.reload();
  });
})();
`;

export const CONSOLE_CSS = `
body { font-family: system-ui, sans-serif; margin: 0; color: #1b1f24; background: #f6f7f9; }
header { background: #1b1f24; padding: .6rem 1.2rem; }
header a { color: #fff; text-decoration: none; font-weight: 600; }
main { padding: 1rem 1.5rem; max-width: 72rem; }
section { background: #fff; border: 1px solid #d8dde3; border-radius: 6px; padding: .6rem 1rem; margin: 1rem 0; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid #eceff2; vertical-align: top; }
dl { display: grid; grid-template-columns: 12rem 1fr; gap: .2rem .8rem; }
dt { color: #57606a; }
dd { margin: 0; overflow-wrap: anywhere; }
code { font-size: .85em; overflow-wrap: anywhere; }
tr.ok td:first-child { color: #1a7f37; }
tr.failed td:first-child, .error, li.removed { color: #cf222e; }
li.added { color: #1a7f37; }
tr.changed td { background: #fff8c5; }
.muted, .note, small { color: #57606a; }
.vote.approve td:nth-child(2) { color: #1a7f37; }
.vote.reject td:nth-child(2) { color: #cf222e; }
ul { margin: .2rem 0; padding-left: 1.2rem; }
`;

/**
 * The passkey ceremonies in the browser: login, enrolment, and signing a decision. WebAuthn's
 * JSON forms (parse*OptionsFromJSON, toJSON) carry the server's options and the answers as they
 * are; the server verifies everything.
 */
export const PASSKEY_JS = `'use strict';
(function () {
  var result = document.getElementById('result');
  var main = document.querySelector('main');
  var KEPT = 'countersign-result';
  var KEEP_MS = 5 * 60 * 1000;
  function say(text, bad) { if (result) { result.textContent = text; result.className = bad ? 'error' : ''; result.hidden = false; } }
  // A decision's answer outlives the reloads its own vote causes (the gate closes, the state moves on):
  // kept for this page in this tab for a few minutes, and shown on the page whether or not the form is still there.
  try {
    var kept = JSON.parse(sessionStorage.getItem(KEPT) || 'null');
    if (kept && kept.path === window.location.pathname && Date.now() - kept.at < KEEP_MS) say(kept.text, kept.bad);
  } catch (e) {}
  function answered(text, bad) {
    say(text, bad);
    try { sessionStorage.setItem(KEPT, JSON.stringify({ path: window.location.pathname, text: text, bad: !!bad, at: Date.now() })); } catch (e) {}
    if (!main) return;
    main.removeAttribute('data-busy');
    if (main.hasAttribute('data-stale')) window.location.reload();
  }
  function post(url, body, csrf) {
    var headers = { 'content-type': 'application/json' };
    if (csrf) headers['x-csrf-token'] = csrf;
    return fetch(url, { method: 'POST', headers: headers, body: JSON.stringify(body || {}), credentials: 'same-origin' }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.message || r.statusText); return j; });
    });
  }
  var decision = document.getElementById('decision');
  if (decision) decision.addEventListener('submit', function (event) {
    event.preventDefault();
    var base = decision.getAttribute('data-base');
    var approverInput = document.getElementById('decision-approver');
    var body = { decision: event.submitter ? event.submitter.value : 'approve', reason: document.getElementById('decision-reason').value };
    if (approverInput) body.approver = approverInput.value;
    var csrf;
    var statement;
    if (main) main.setAttribute('data-busy', '1');
    try { sessionStorage.removeItem(KEPT); } catch (e) {}
    say('Waiting for your passkey…');
    fetch('/session', { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : {}; }).then(function (s) {
      csrf = s.csrf;
      return post(base + '/statement', body, csrf);
    }).then(function (answer) {
      statement = answer.statement;
      return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(answer.options) });
    }).then(function (credential) {
      return post(base + '/decide', { statement: statement, response: credential.toJSON() }, csrf);
    }).then(function (answer) {
      answered('Recorded: ' + answer.summary);
    }).catch(function (err) { answered(String(err.message || err), true); });
  });
  var login = document.getElementById('login');
  if (login) login.addEventListener('click', function () {
    say('Waiting for your passkey…');
    post('/login/options').then(function (options) {
      return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
    }).then(function (credential) {
      return post('/login', { response: credential.toJSON() });
    }).then(function (answer) {
      say('Logged in as ' + answer.approver);
      window.location.assign('/');
    }).catch(function (err) { say(String(err.message || err), true); });
  });
  var enrol = document.getElementById('enrol');
  if (enrol) enrol.addEventListener('submit', function (event) {
    event.preventDefault();
    var approver = document.getElementById('approver').value;
    var name = document.getElementById('passkey-name').value;
    say('Waiting for your authenticator…');
    post('/enrol/options', { approver: approver, name: name }).then(function (options) {
      return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
    }).then(function (credential) {
      return post('/enrol', { response: credential.toJSON() });
    }).then(function (answer) {
      say('Passkey created. Give these lines to the operator of the worker\\'s configuration:');
      var snippet = document.getElementById('snippet');
      snippet.textContent = answer.snippet;
      snippet.hidden = false;
    }).catch(function (err) { say(String(err.message || err), true); });
  });
})();
`;
