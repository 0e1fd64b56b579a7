/**
 * The page frame every console page shares. Templates are ghtml tagged templates: every `${}`
 * is HTML-escaped; `!${}` (raw) is used only for markup another template produced, never for a
 * value read from Temporal or the registry.
 */
import { html } from 'ghtml';

export { html };

export interface PageOptions {
  title: string;
  /** An event stream the page listens to and reloads on (static/console.js). */
  watch?: string;
}

export function layout(options: PageOptions, body: string): string {
  return `<!doctype html>${html`<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${options.title} · countersign</title>
<link rel="stylesheet" href="/static/console.css">
<script src="/static/console.js" defer></script>
</head>
<body>
<header><a href="/">countersign approvals</a></header>
<main data-watch="${options.watch ?? ''}">
!${body}
</main>
</body>
</html>`}`;
}

/** A time left as "2h 5m", "4m 10s", "expired". */
export function timeLeft(ms: number | undefined): string {
  if (ms === undefined) return '';
  if (ms <= 0) return 'expired';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h}h ${m}m` : `${m}m ${s % 60}s`;
}

/** The first 12 hex digits of a digest, for tables; the full one is in the title attribute. */
export function shortDigest(digest: string | undefined): string {
  return digest ? `${digest.slice(0, 19)}…` : '';
}
