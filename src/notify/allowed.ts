/**
 * The webhooks a worker posts to are the ones its configuration names. The URL reaches the notify
 * activity through workflow history (from the plan a run pinned), and a plan is checked by seal
 * only at the steps that sign; the notify step checks the URL itself against the configuration,
 * so nothing written into history can turn the worker into a client of another host.
 */
import type { Config } from '../config';
import { CountersignError } from '../errors';
import type { WebhookFormat } from './chat';

/** Every `webhookUrl` anywhere in the parsed configuration (targets, charts, trust stores' gates). */
export function configuredWebhookUrls(config: Config): Set<string> {
  const urls = new Set<string>();
  const seen = new Set<object>();
  const walk = (value: unknown, depth: number) => {
    if (depth > 12 || typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    for (const [key, v] of Object.entries(value)) {
      if (key === 'webhookUrl' && typeof v === 'string') urls.add(v);
      else walk(v, depth + 1);
    }
  };
  walk(config, 0);
  return urls;
}

/**
 * How the configuration says to post to `url`: the format beside the first `webhookUrl` that is
 * it (json when none is given), and the console address notifications link to.
 */
export function webhookDelivery(config: Config, url: string): { format: WebhookFormat; consoleUrl?: string } {
  let format: WebhookFormat | undefined;
  const seen = new Set<object>();
  const walk = (value: unknown, depth: number) => {
    if (format || depth > 12 || typeof value !== 'object' || value === null || seen.has(value)) return;
    seen.add(value);
    const entry = value as { webhookUrl?: unknown; webhookFormat?: unknown };
    if (entry.webhookUrl === url) format = entry.webhookFormat === 'slack' || entry.webhookFormat === 'teams' ? entry.webhookFormat : 'json';
    for (const v of Object.values(value)) walk(v, depth + 1);
  };
  walk(config, 0);
  // The console's own origin (console.origin, the passkeys' relying party) is where approvers open
  // it unless notify.consoleUrl says otherwise (a proxy path in front of it, for example).
  const consoleUrl = config.notify?.consoleUrl ?? config.console?.origin;
  return { format: format ?? 'json', ...(consoleUrl ? { consoleUrl } : {}) };
}

export function assertWebhookConfigured(config: Config | undefined, url: string): void {
  if (config && configuredWebhookUrls(config).has(url)) return;
  let host = 'an unparsable URL';
  try {
    host = new URL(url).host;
  } catch {
    // host stays a description; the URL itself is not echoed
  }
  throw new CountersignError('NOTIFY_URL_NOT_CONFIGURED', `refusing to post a notification to ${host}: no webhook in the worker's configuration${config ? ` (${config.file})` : ''} has that URL`);
}
