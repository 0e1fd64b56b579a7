/**
 * The notify step posts only to webhooks the worker's configuration names: a URL written into
 * history (a forged plan's webhook) is refused before any connection, and a configured one is
 * posted to. A real HTTP receiver on loopback counts what arrives.
 */
import assert from 'node:assert/strict';
import http from 'node:http';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createNotifyActivities } from '../../activities/notify';
import { parseConfig } from '../../src/config';
import { configuredWebhookUrls } from '../../src/notify/allowed';

describe('the notify step posts only to configured webhooks', () => {
  let server: http.Server;
  let received = 0;
  let base: string;
  before(async () => {
    server = http.createServer((req, res) => {
      received += 1;
      req.resume();
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const notification = { kind: 'requested', promotionId: 'promote-prod-abc', digest: `sha256:${'a'.repeat(64)}`, to: ['alice'] } as never;

  it("the webhooks are the configuration's own", () => {
    const dir = path.resolve(__dirname, '../fixtures/gate-config');
    const config = parseConfig(
      {
        registry: '127.0.0.1:5000',
        approvers: { alice: { publicKey: 'keys/alice.pub' }, bob: { publicKey: 'keys/bob.pub' } },
        targets: {
          prod: {
            repository: 'apps/hello',
            policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
            approval: { approvers: ['alice', 'bob'], webhook: 'https://hooks.example.com/prod' },
            keys: { developer: { publicKey: 'keys/dev.pub' }, platform: { key: 'keys/platform.key', publicKey: 'keys/platform.pub' } },
          },
        },
      },
      path.join(dir, 'countersign.yaml'),
      {},
    );
    assert.deepEqual([...configuredWebhookUrls(config)], ['https://hooks.example.com/prod']);
  });

  it('a configured URL is posted to; any other is refused, not retried, and never contacted', async () => {
    const url = `${base}/hooks/approvals`;
    const config = () => ({ file: '/etc/countersign.yaml', targets: { prod: { approval: { webhookUrl: url } } } }) as never;
    const { notify } = createNotifyActivities({ config });
    await new MockActivityEnvironment({ activityType: 'notify' }).run(notify, url, notification);
    assert.equal(received, 1);
    for (const other of [`${base}/hooks/other`, 'http://169.254.169.254/latest/meta-data/', 'not a url']) {
      const err = await new MockActivityEnvironment({ activityType: 'notify' }).run(notify, other, notification).catch((e: unknown) => e);
      assert.ok(err instanceof ApplicationFailure, String(err));
      assert.equal(err.type, 'NOTIFY_URL_NOT_CONFIGURED');
      assert.equal(err.nonRetryable, true);
      assert.ok(!err.message.includes('meta-data'), 'the URL is not echoed');
    }
    assert.equal(received, 1, 'nothing else reached the receiver');
    // A worker without a configuration posts nowhere.
    const bare = createNotifyActivities({});
    assert.equal(((await new MockActivityEnvironment().run(bare.notify, url, notification).catch((e: unknown) => e)) as ApplicationFailure).type, 'NOTIFY_URL_NOT_CONFIGURED');
  });
});
