import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { afterEach, beforeEach, describe, test } from 'node:test';
import { createLogger, redactSecrets } from '../src/log';

/** Logs through createLogger into a sink (a terminal when tty) and returns what was written. */
async function capture(write: (log: ReturnType<typeof createLogger>) => void, tty = false): Promise<string> {
  const sink = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) sink.isTTY = true;
  const chunks: string[] = [];
  sink.on('data', (c) => chunks.push(String(c)));
  const log = createLogger('test', sink);
  write(log);
  log.flush();
  await new Promise((r) => setTimeout(r, 20));
  return chunks.join('');
}

describe('logging', () => {
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    for (const k of ['COUNTERSIGN_LOG_FORMAT', 'COUNTERSIGN_LOG_LEVEL']) {
      saved[k] = process.env[k];
      delete process.env[k];
    }
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  });

  test('JSON lines off a terminal, never carrying passphrases, private keys or credentials at any depth', async () => {
    const out = await capture((log) =>
      log.info(
        {
          password: 'hunter2',
          key: { passphrase: 'swordfish', privateKeyPem: '-----BEGIN PRIVATE KEY-----' },
          env: { COUNTERSIGN_DEV_KEY_PASSWORD: 'dev-pw', AWS_SECRET_ACCESS_KEY: 'aws-secret', AWS_SESSION_TOKEN: 'aws-token', AWS_REGION: 'us-east-1' },
          a: { b: { c: [{ Password: 'deep-pw' }] } },
          digest: 'sha256:abc',
        },
        'signed',
      ),
    );
    const line = JSON.parse(out.trim());
    assert.equal(line.msg, 'signed');
    assert.equal(line.digest, 'sha256:abc');
    assert.equal(line.password, '[redacted]');
    assert.deepEqual(line.key, { passphrase: '[redacted]', privateKeyPem: '[redacted]' });
    assert.deepEqual(line.env, { COUNTERSIGN_DEV_KEY_PASSWORD: '[redacted]', AWS_SECRET_ACCESS_KEY: '[redacted]', AWS_SESSION_TOKEN: '[redacted]', AWS_REGION: 'us-east-1' });
    assert.equal(line.a.b.c[0].Password, '[redacted]');
    for (const secret of ['hunter2', 'swordfish', 'BEGIN PRIVATE', 'dev-pw', 'aws-secret', 'aws-token', 'deep-pw']) assert.ok(!out.includes(secret), `${secret} leaked`);
  });

  test("the caller's object is left as it was, and cycles do not hang", () => {
    const fields: Record<string, unknown> = { password: 'x', nested: { token: 'y' } };
    fields.self = fields;
    const copy = redactSecrets(fields) as Record<string, unknown>;
    assert.equal(fields.password, 'x');
    assert.equal((fields.nested as { token: string }).token, 'y');
    assert.equal(copy.password, '[redacted]');
    assert.equal(copy.self, '[circular]');
  });

  test('human-readable in a terminal', async () => {
    const out = await capture((log) => log.info({ digest: 'sha256:abc', password: 'hunter2' }, 'promoted'), true);
    assert.throws(() => JSON.parse(out.trim()), 'not a JSON line');
    assert.match(out, /INFO/);
    assert.match(out, /promoted/);
    assert.match(out, /sha256:abc/);
    assert.ok(!out.includes('hunter2'));
  });

  test('COUNTERSIGN_LOG_LEVEL drops lines below the level; COUNTERSIGN_LOG_FORMAT=json wins over a terminal', async () => {
    process.env.COUNTERSIGN_LOG_LEVEL = 'warn';
    process.env.COUNTERSIGN_LOG_FORMAT = 'json';
    const out = await capture((log) => {
      log.info('quiet');
      log.warn('loud');
    }, true);
    const lines = out.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.msg), ['loud']);
  });
});
