/**
 * Chat bodies and console links: what a real HTTP receiver gets for each `webhookFormat`, that
 * docs/approvals.md ("Chat") shows exactly those bodies, and that the format and the link come
 * from the worker's configuration, not from the message the workflow hands the notify step.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import YAML from 'yaml';
import { createNotifyActivities } from '../../activities/notify';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode } from '../../src/errors';
import { consoleLink, webhookBody } from '../../src/notify/chat';
import { webhookDelivery } from '../../src/notify/allowed';
import { postWebhook, type Notification } from '../../src/notify/webhook';

const ROOT = path.resolve(__dirname, '../..');
const DOC = fs.readFileSync(path.join(ROOT, 'docs', 'approvals.md'), 'utf8');

/** The fenced block right after `<!-- marker -->` in docs/approvals.md. */
function documented(marker: string): string {
  const match = new RegExp(`<!-- ${marker} -->\\n\`\`\`(?:json|yaml)\\n([\\s\\S]*?)\`\`\``).exec(DOC);
  assert.ok(match, `docs/approvals.md has no block marked ${marker}`);
  return match[1];
}

/** The notification docs/approvals.md's examples are rendered from. */
const SAMPLE: Notification = {
  kind: 'reminder',
  subject: 'promote-production-0123456789abcdef',
  digest: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  to: ['alice', 'bob'],
  summary: 'waiting for 1 more of platform',
  deadline: '2026-11-24T22:00:00.000Z',
  reminders: 1,
  at: '2026-11-22T22:00:00.000Z',
  about: 'promotion',
  command: 'countersign approve promote-production-0123456789abcdef --as NAME --key FILE',
  evidence: 'sha256:2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae',
};
const CONSOLE = 'https://countersign.example.com';
const LINK = 'https://countersign.example.com/promotions/promote-production-0123456789abcdef';

describe('chat bodies and console links', () => {
  let server: http.Server;
  let base: string;
  const received: Array<{ path: string; contentType?: string; body: unknown }> = [];
  before(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        received.push({ path: req.url ?? '', contentType: req.headers['content-type'], body: JSON.parse(body) });
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));
  const got = (p: string) => received.filter((r) => r.path === p).at(-1)?.body;

  it('links to the page of what the message is about, under the configured console address', () => {
    assert.equal(consoleLink(CONSOLE, SAMPLE), LINK);
    assert.equal(consoleLink(`${CONSOLE}/`, SAMPLE), LINK, 'a trailing slash is not doubled');
    assert.equal(consoleLink(`${CONSOLE}/approvals`, { ...SAMPLE, about: 'chart release', subject: 'chart-charts-hello-1.2.3' }), `${CONSOLE}/approvals/charts/chart-charts-hello-1.2.3`);
    assert.equal(consoleLink(CONSOLE, { ...SAMPLE, about: 'key ceremony' }), undefined, 'a key ceremony has no console page');
    // An id is a path segment, whatever it holds.
    assert.equal(consoleLink(CONSOLE, { ...SAMPLE, subject: 'a/../b?c' }), `${CONSOLE}/promotions/a%2F..%2Fb%3Fc`);
  });

  it('slack: text, a mrkdwn section with the facts and a button into the console, exactly as docs/approvals.md shows', async () => {
    await postWebhook(`${base}/slack`, SAMPLE, 5000, { format: 'slack', consoleUrl: CONSOLE });
    assert.deepEqual(got('/slack'), JSON.parse(documented('chat-slack')));
    assert.deepEqual(got('/slack'), {
      text: `promotion promote-production-0123456789abcdef: reminder: approval still needed ${LINK}`,
      blocks: [
        {
          type: 'section',
          text: {
            type: 'mrkdwn',
            text: [
              '*promotion promote-production-0123456789abcdef: reminder: approval still needed*',
              '*status:* waiting for 1 more of platform',
              `*digest:* \`${SAMPLE.digest}\``,
              '*needed from:* alice, bob',
              '*deadline:* 2026-11-24T22:00:00.000Z',
              `*evidence pack:* \`${SAMPLE.evidence}\``,
              `*to vote:* \`${SAMPLE.command}\``,
            ].join('\n'),
          },
        },
        { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Open in the approval console' }, url: LINK }] },
      ],
    });
    assert.equal(received.at(-1)?.contentType, 'application/json');
  });

  it('teams: an Adaptive Card in a message attachment, with the facts and an Open URL action, exactly as docs/approvals.md shows', async () => {
    await postWebhook(`${base}/teams`, SAMPLE, 5000, { format: 'teams', consoleUrl: CONSOLE });
    const body = got('/teams') as any;
    assert.deepEqual(body, JSON.parse(documented('chat-teams')));
    assert.equal(body.type, 'message');
    assert.equal(body.attachments.length, 1);
    const [attachment] = body.attachments;
    assert.equal(attachment.contentType, 'application/vnd.microsoft.card.adaptive');
    assert.equal(attachment.contentUrl, null);
    assert.equal(attachment.content.type, 'AdaptiveCard');
    assert.equal(attachment.content.$schema, 'http://adaptivecards.io/schemas/adaptive-card.json');
    assert.equal(attachment.content.version, '1.4');
    assert.deepEqual(attachment.content.body[0], { type: 'TextBlock', text: 'promotion promote-production-0123456789abcdef: reminder: approval still needed', weight: 'Bolder', size: 'Medium', wrap: true });
    assert.deepEqual(attachment.content.body[1], {
      type: 'FactSet',
      facts: [
        { title: 'status', value: 'waiting for 1 more of platform' },
        { title: 'digest', value: SAMPLE.digest },
        { title: 'needed from', value: 'alice, bob' },
        { title: 'deadline', value: '2026-11-24T22:00:00.000Z' },
        { title: 'evidence pack', value: SAMPLE.evidence },
        { title: 'to vote', value: SAMPLE.command },
      ],
    });
    assert.deepEqual(attachment.content.actions, [{ type: 'Action.OpenUrl', title: 'Open in the approval console', url: LINK }]);
  });

  it('json: the notification itself, with the link when a console address is configured, as docs/approvals.md shows', async () => {
    await postWebhook(`${base}/json`, SAMPLE, 5000, { format: 'json', consoleUrl: CONSOLE });
    assert.deepEqual(got('/json'), { ...SAMPLE, link: LINK });
    assert.deepEqual(got('/json'), JSON.parse(documented('chat-json')));
    await postWebhook(`${base}/json-plain`, SAMPLE);
    assert.deepEqual(got('/json-plain'), SAMPLE, 'no console address, no link; no format, json');
    await postWebhook(`${base}/json-forged`, { ...SAMPLE, link: 'https://evil.example/phish' } as Notification);
    assert.deepEqual(got('/json-forged'), SAMPLE, 'a link the message brings itself is dropped');
  });

  it('slack: markup in a value (an approver-written reason) stays text', () => {
    const body = webhookBody('slack', { ...SAMPLE, kind: 'rejected', summary: 'rejected by bob: see <https://evil.example|here> & <!channel>' }) as { blocks: Array<{ text?: { text: string } }> };
    assert.match(body.blocks[0].text!.text, /\*status:\* rejected by bob: see &lt;https:\/\/evil\.example\|here&gt; &amp; &lt;!channel&gt;/);
    assert.equal(body.blocks.length, 1, 'no console address: no button');
  });

  describe("the format and link are the worker's configuration's", () => {
    const dir = path.resolve(__dirname, '../fixtures/gate-config');
    const configFor = (urls: { slack: string; teams: string; json: string }, extra: Record<string, unknown> = {}) =>
      parseConfig(
        {
          registry: '127.0.0.1:5000',
          approvers: { alice: { publicKey: 'keys/alice.pub' }, bob: { publicKey: 'keys/bob.pub' } },
          ...YAML.parse(documented('chat-config').replace('https://hooks.slack.com/services/T000/B000/XXXX', urls.slack)),
          ...extra,
        },
        path.join(dir, 'countersign.yaml'),
        {},
      );
    const withTargets = (urls: { slack: string; teams: string; json: string }) => {
      const documentedConfig = YAML.parse(documented('chat-config').replace('https://hooks.slack.com/services/T000/B000/XXXX', urls.slack));
      const target = (webhook: string, format?: string) => ({
        repository: 'apps/hello',
        policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
        approval: { approvers: ['alice', 'bob'], webhook, ...(format ? { webhookFormat: format } : {}) },
        keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
      });
      return configFor(urls, {
        targets: {
          production: { ...target(urls.slack), approval: { ...target(urls.slack).approval, ...documentedConfig.targets.production.approval } },
          teams: target(urls.teams, 'teams'),
          plain: target(urls.json),
        },
      });
    };

    it('the documented configuration parses, and each webhook is posted to in its own format with the configured link', async () => {
      const urls = { slack: `${base}/cfg-slack`, teams: `${base}/cfg-teams`, json: `${base}/cfg-json` };
      const config = withTargets(urls);
      assert.equal(config.notify?.consoleUrl, CONSOLE);
      assert.equal(config.targets.production.approval.webhookFormat, 'slack');
      assert.deepEqual(webhookDelivery(config, urls.slack), { format: 'slack', consoleUrl: CONSOLE });
      assert.deepEqual(webhookDelivery(config, urls.teams), { format: 'teams', consoleUrl: CONSOLE });
      assert.deepEqual(webhookDelivery(config, urls.json), { format: 'json', consoleUrl: CONSOLE });

      const { notify } = createNotifyActivities({ config: () => config });
      // A message that brings its own link or format (written into history by a caller) changes neither.
      const forged = { ...SAMPLE, link: 'https://evil.example/phish', format: 'json', consoleUrl: 'https://evil.example' } as Notification;
      for (const url of [urls.slack, urls.teams, urls.json]) await new MockActivityEnvironment({ activityType: 'notify' }).run(notify, url, forged);
      assert.equal((got('/cfg-slack') as any).blocks[1].elements[0].url, LINK);
      assert.equal((got('/cfg-teams') as any).attachments[0].content.actions[0].url, LINK);
      assert.equal((got('/cfg-json') as any).link, LINK);
      assert.ok(!JSON.stringify(got('/cfg-slack')).includes('evil.example'));
      assert.ok(!JSON.stringify(got('/cfg-teams')).includes('evil.example'));
    });

    it('without notify.consoleUrl, links use console.origin; with neither, no link', () => {
      const urls = { slack: `${base}/cfg-slack`, teams: `${base}/cfg-teams`, json: `${base}/cfg-json` };
      const config = withTargets(urls);
      const { notify: _dropped, ...rest } = config;
      const viaOrigin = { ...rest, console: { origin: 'https://approve.acme.example', rpId: 'approve.acme.example' } } as typeof config;
      assert.deepEqual(webhookDelivery(viaOrigin, urls.slack), { format: 'slack', consoleUrl: 'https://approve.acme.example' });
      assert.deepEqual(webhookDelivery({ ...viaOrigin, notify: config.notify }, urls.slack), { format: 'slack', consoleUrl: CONSOLE }, 'notify.consoleUrl wins');
      assert.deepEqual(webhookDelivery(rest as typeof config, urls.json), { format: 'json' });
    });

    it('an unconfigured URL is still refused before anything is sent', async () => {
      const config = withTargets({ slack: `${base}/cfg-slack`, teams: `${base}/cfg-teams`, json: `${base}/cfg-json` });
      const before = received.length;
      const { notify } = createNotifyActivities({ config: () => config });
      const err = await new MockActivityEnvironment({ activityType: 'notify' }).run(notify, `${base}/elsewhere`, SAMPLE).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure && err.type === 'NOTIFY_URL_NOT_CONFIGURED', String(err));
      assert.equal(received.length, before);
    });

    it('a wrong format, a format without a webhook, and a console address that is not a base URL are configuration errors naming the field', () => {
      const problems = (approval: Record<string, unknown>, notify: unknown = { consoleUrl: CONSOLE }): string[] => {
        try {
          parseConfig(
            {
              registry: '127.0.0.1:5000',
              approvers: { alice: { publicKey: 'keys/alice.pub' } },
              notify,
              targets: { prod: { repository: 'apps/hello', policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] }, approval: { approvers: ['alice'], ...approval }, keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } } } },
            },
            path.join(dir, 'countersign.yaml'),
            {},
          );
          return [];
        } catch (err) {
          assert.ok(hasCode(err, 'BAD_CONFIG'), String(err));
          return (err as CountersignError).details!.problems as string[];
        }
      };
      assert.deepEqual(problems({ webhook: 'https://hooks.example.com/x', webhookFormat: 'teams' }), []);
      assert.ok(problems({ webhook: 'https://hooks.example.com/x', webhookFormat: 'discord' }).some((p) => p.startsWith('targets.prod.approval.webhookFormat:')), JSON.stringify(problems({ webhookFormat: 'discord' })));
      assert.ok(problems({ webhookFormat: 'slack' }).includes('targets.prod.approval.webhookFormat: needs webhook: the format is how that webhook is posted to'));
      assert.ok(problems({}, { consoleUrl: 'https://console.example.com/?next=x' }).includes('notify.consoleUrl: "https://console.example.com/?next=x" has a query or fragment; give the console\'s base address'));
      assert.ok(problems({}, { consoleUrl: 'ftp://console.example.com' }).some((p) => p.startsWith('notify.consoleUrl:')), JSON.stringify(problems({}, { consoleUrl: 'ftp://console.example.com' })));
    });
  });
});
