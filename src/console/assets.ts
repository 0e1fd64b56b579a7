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
  source.addEventListener('change', function () { source.close(); window.location.reload(); });
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
