/**
 * `notify: { consoleUrl }`: where a notification's link points. It is the worker's to say (a URL
 * written into history could send approvers anywhere), so the notify step reads it from the
 * worker's configuration when it sends, never from the message it is given.
 */
export interface NotifySection {
  /** The approval console's address as approvers reach it, without a trailing slash. */
  consoleUrl?: string;
}

type Add = (field: string, problem: string) => void;

const MAX_URL = 2048;

export function parseNotifySection(raw: unknown, add: Add): NotifySection | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    add('notify', 'must be a mapping { consoleUrl }');
    return undefined;
  }
  // Unknown keys are the schema's to report (src/config-schema.ts).
  const value = (raw as Record<string, unknown>).consoleUrl;
  if (value === undefined) return {};
  const text = String(value);
  if (text.length > MAX_URL) {
    add('notify.consoleUrl', `is ${text.length} characters; at most ${MAX_URL}`);
    return {};
  }
  let url: URL;
  try {
    url = new URL(text);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('not http(s)');
  } catch {
    add('notify.consoleUrl', `"${text.slice(0, 120)}" is not an http(s) URL`);
    return {};
  }
  // A link is the console's page under this address: a query or fragment would end up in the middle of it.
  if (url.search || url.hash) {
    add('notify.consoleUrl', `"${text.slice(0, 120)}" has a query or fragment; give the console's base address`);
    return {};
  }
  return { consoleUrl: url.toString().replace(/\/+$/, '') };
}
