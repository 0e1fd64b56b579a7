import type { Logger } from 'pino';
import type { Config } from '../src/config';
import { assertWebhookConfigured } from '../src/notify/allowed';
import { postWebhook, type Notification } from '../src/notify/webhook';
import { asActivity } from './failure';

export function createNotifyActivities(deps: { log?: Logger; config?: () => Config | undefined } = {}) {
  return {
    /** Posts to `url` only when the worker's configuration names that webhook. */
    async notify(url: string, notification: Notification): Promise<void> {
      return asActivity(deps.log, async () => {
        assertWebhookConfigured(deps.config?.(), url);
        return postWebhook(url, notification);
      });
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
