/**
 * The console's `console:` section: the origin approvers open it at. That origin is the WebAuthn
 * relying party: passkeys are created for its host name and every assertion must name it, so it
 * is the worker's to state, never a request header's (a caller who set Host or Origin could
 * otherwise make a passkey signed for their own page count here).
 */
export interface ConsoleSection {
  /** scheme://host[:port], no path: what a browser puts in clientDataJSON.origin. */
  origin: string;
  /** The WebAuthn relying party id: the origin's host name. */
  rpId: string;
}

type Add = (field: string, problem: string) => void;

/** Browsers allow WebAuthn over plain http only on these hosts (a "potentially trustworthy" origin). */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

export function parseConsoleOrigin(value: unknown, field: string, add: Add): ConsoleSection | undefined {
  if (typeof value !== 'string' || value === '') {
    add(field, 'is required: the https:// address approvers open the console at, e.g. https://countersign.example.com');
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    add(field, `"${value.slice(0, 120)}" is not a URL`);
    return undefined;
  }
  const local = LOOPBACK_HOSTS.has(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && local)) {
    add(field, `"${value.slice(0, 120)}" must be https:// (browsers offer passkeys over http only on localhost)`);
    return undefined;
  }
  if (url.origin !== value.replace(/\/$/, '') || url.username || url.password) {
    add(field, `"${value.slice(0, 120)}" must be an origin only: scheme://host[:port], no path, query or user`);
    return undefined;
  }
  if (/^\d+\.\d+\.\d+\.\d+$|^\[/.test(url.hostname) && !local) {
    add(field, `"${value.slice(0, 120)}" names an IP address: WebAuthn needs a host name (its relying party id)`);
    return undefined;
  }
  return { origin: url.origin, rpId: url.hostname.replace(/^\[|\]$/g, '') };
}

export function parseConsoleSection(raw: unknown, add: Add): ConsoleSection | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    add('console', 'must be a mapping { origin }');
    return undefined;
  }
  return parseConsoleOrigin((raw as Record<string, unknown>).origin, 'console.origin', add);
}
