import type { Logger } from 'pino';
import type { Config } from '../src/config';
import { assertWebhookConfigured, webhookDelivery } from '../src/notify/allowed';
import { DEFAULT_WEBHOOK_TIMEOUT_MS, postWebhook, type Notification } from '../src/notify/webhook';
import { asActivity } from './failure';

export function createNotifyActivities(deps: { log?: Logger; config?: () => Config | undefined } = {}) {
  return {
    /**
     * Posts to `url` only when the worker's configuration names that webhook, in the format and
     * with the console link that configuration gives (neither is taken from the workflow).
     */
    async notify(url: string, notification: Notification): Promise<void> {
      return asActivity(deps.log, async () => {
        const config = deps.config?.();
        assertWebhookConfigured(config, url);
        return postWebhook(url, notification, DEFAULT_WEBHOOK_TIMEOUT_MS, webhookDelivery(config!, url));
      });
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
