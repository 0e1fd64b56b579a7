/**
 * The bodies chat tools' incoming webhooks render: Slack (text with mrkdwn, a section and a
 * button, https://api.slack.com/messaging/webhooks) and Microsoft Teams (an Adaptive Card in a
 * message attachment, as Teams' incoming webhooks and its "post to a channel when a webhook
 * request is received" workflow take it). `json` is the notification itself. Every value comes from
 * the gate's message; the link from the worker's configuration (notify.consoleUrl), never from history.
 */
import type { Notification } from './webhook';

export const WEBHOOK_FORMATS = ['json', 'slack', 'teams'] as const;
export type WebhookFormat = (typeof WEBHOOK_FORMATS)[number];

const HEADLINES: Record<string, string> = {
  requested: 'approval requested',
  reminder: 'reminder: approval still needed',
  escalation: 'escalation: approval has stalled',
  'evidence-changed': 'the evidence changed: votes over the earlier pack no longer count',
  approved: 'approved',
  rejected: 'rejected',
  expired: 'expired without a decision',
};

/** The console's section for what a gate is about; key ceremonies and revocations have no console page. */
const CONSOLE_SECTIONS: Record<string, string> = { promotion: 'promotions', 'chart release': 'charts' };

/** The console page of what the notification is about, under `consoleUrl`; undefined when the console has none. */
export function consoleLink(consoleUrl: string, notification: Notification): string | undefined {
  const section = CONSOLE_SECTIONS[notification.about ?? 'promotion'];
  if (!section) return undefined;
  return `${consoleUrl.replace(/\/+$/, '')}/${section}/${encodeURIComponent(notification.subject)}`;
}

/** One line saying what happened to what. */
export function headline(n: Notification): string {
  return `${n.about ?? 'promotion'} ${n.subject}: ${HEADLINES[n.kind] ?? n.kind}`;
}

/** Labelled facts, in the order a reader wants them. */
function facts(n: Notification): Array<[string, string]> {
  const out: Array<[string, string]> = [['status', n.summary], ['digest', n.digest]];
  if (n.to.length > 0) out.push([n.kind === 'escalation' ? 'escalated to' : 'needed from', n.to.join(', ')]);
  if (n.deadline) out.push(['deadline', n.deadline]);
  if (n.evidence) out.push(['evidence pack', n.evidence]);
  if (n.why) out.push(['why', n.why]);
  if (n.command) out.push(['to vote', n.command]);
  return out;
}

/** Slack's mrkdwn treats &, < and > as markup: everything else is plain text. */
function slackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** The JSON body POSTed for `format`; `link` is the console page when the worker has a console URL. */
export function webhookBody(format: WebhookFormat, n: Notification, link?: string): unknown {
  if (format === 'slack') {
    const lines = [`*${slackText(headline(n))}*`, ...facts(n).map(([k, v]) => `*${k}:* ${k === 'to vote' || k === 'digest' || k === 'evidence pack' ? `\`${slackText(v)}\`` : slackText(v)}`)];
    return {
      // The plain text is what notifications and clients without blocks show.
      text: `${headline(n)}${link ? ` ${link}` : ''}`,
      blocks: [
        { type: 'section', text: { type: 'mrkdwn', text: lines.join('\n') } },
        ...(link ? [{ type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the approval console' }, url: link }] }] : []),
      ],
    };
  }
  if (format === 'teams') {
    return {
      type: 'message',
      attachments: [
        {
          contentType: 'application/vnd.microsoft.card.adaptive',
          contentUrl: null,
          content: {
            $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
            type: 'AdaptiveCard',
            version: '1.4',
            body: [
              { type: 'TextBlock', text: headline(n), weight: 'Bolder', size: 'Medium', wrap: true },
              { type: 'FactSet', facts: facts(n).map(([title, value]) => ({ title, value })) },
            ],
            ...(link ? { actions: [{ type: 'Action.OpenUrl', title: 'Open in the approval console', url: link }] } : {}),
          },
        },
      ],
    };
  }
  // Only the fields a notification has: anything else a message carries (it comes through history) is dropped, a `link` above all.
  const known: Record<string, unknown> = {};
  for (const key of NOTIFICATION_FIELDS) if (n[key] !== undefined) known[key] = n[key];
  return link ? { ...known, link } : known;
}

const NOTIFICATION_FIELDS = ['kind', 'subject', 'digest', 'to', 'summary', 'deadline', 'reminders', 'at', 'about', 'command', 'evidence', 'why'] as const satisfies ReadonlyArray<keyof Notification>;
