import type { Logger } from 'pino';
import { postWebhook, type Notification } from '../src/notify/webhook';
import { asActivity } from './failure';

export function createNotifyActivities(deps: { log?: Logger } = {}) {
  return {
    async notify(url: string, notification: Notification): Promise<void> {
      return asActivity(deps.log, () => postWebhook(url, notification));
    },
  };
}

export type NotifyActivities = ReturnType<typeof createNotifyActivities>;
