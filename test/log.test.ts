import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { createLogger } from '../src/log';

test('log lines are JSON off a terminal and never carry passphrases or private keys', async () => {
  const previous = process.env.COUNTERSIGN_LOG_FORMAT;
  delete process.env.COUNTERSIGN_LOG_FORMAT;
  const sink = new PassThrough();
  const chunks: string[] = [];
  sink.on('data', (c) => chunks.push(String(c)));
  try {
    const log = createLogger('test', sink);
    log.info({ password: 'hunter2', key: { passphrase: 'swordfish', privateKeyPem: '-----BEGIN PRIVATE KEY-----' }, digest: 'sha256:abc' }, 'signed');
    log.flush();
    await new Promise((r) => setImmediate(r));
  } finally {
    if (previous !== undefined) process.env.COUNTERSIGN_LOG_FORMAT = previous;
  }
  const line = JSON.parse(chunks.join('').trim());
  assert.equal(line.msg, 'signed');
  assert.equal(line.digest, 'sha256:abc');
  assert.equal(line.password, '[redacted]');
  assert.equal(line.key.passphrase, '[redacted]');
  assert.equal(line.key.privateKeyPem, '[redacted]');
  assert.ok(!chunks.join('').includes('hunter2') && !chunks.join('').includes('swordfish'));
});
