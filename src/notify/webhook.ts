import { CountersignError } from '../errors';
import { consoleLink, webhookBody, type WebhookFormat } from './chat';

/** A notification about an approval gate: who is needed, by when. */
export interface Notification {
  kind: string;
  subject: string;
  digest: string;
  /** Names of the people this is for. */
  to: string[];
  summary: string;
  deadline?: string;
  reminders: number;
  at: string;
  /** What the subject is: promotion, chart release, key ceremony, key revocation. */
  about?: string;
  /** While the gate is open: the command that takes part (each person fills in their own name and key). */
  command?: string;
  /** The evidence pack's digest the gate shows (a vote counts only signed over it). */
  evidence?: string;
  /** For an `evidence-changed` notification: why votes stopped counting. */
  why?: string;
}

export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

/** How the worker's configuration says to post to one webhook. */
export interface WebhookDelivery {
  /** json (the notification itself, the default), slack or teams (src/notify/chat.ts). */
  format?: WebhookFormat;
  /** The approval console's address (notify.consoleUrl): each message links to its page there. */
  consoleUrl?: string;
}

/**
 * POSTs the notification as JSON, in the body `delivery.format` names, with a link into the
 * console when there is one. 5xx, 429 and network errors may be retried; other 4xx may not.
 */
export async function postWebhook(url: string, notification: Notification, timeoutMs = DEFAULT_WEBHOOK_TIMEOUT_MS, delivery: WebhookDelivery = {}): Promise<void> {
  const link = delivery.consoleUrl ? consoleLink(delivery.consoleUrl, notification) : undefined;
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'countersign' },
      body: JSON.stringify(webhookBody(delivery.format ?? 'json', notification, link)),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (cause) {
    throw new CountersignError('NOTIFY_UNAVAILABLE', `webhook ${url} unreachable: ${(cause as Error).message}`, { cause });
  }
  await res.arrayBuffer().catch(() => undefined);
  if (res.ok) return;
  const code = res.status >= 500 || res.status === 429 ? 'NOTIFY_UNAVAILABLE' : 'NOTIFY_REJECTED';
  throw new CountersignError(code, `webhook ${url} answered HTTP ${res.status} to the ${notification.kind} notification`);
}
