import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { FileSigner } from '../../src/keys/file-signer';
import { verifySignature } from '../../src/keys/public-key';
import { runCli } from '../support/cli';

test('keys generate writes a usable cosign key pair from an env passphrase and refuses to overwrite', async () => {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'countersign-keys-'));
  try {
    const env = { MY_PASS: 'correct horse' };
    const made = await runCli(['keys', 'generate', '--output-dir', dir, '--prefix', 'platform', '--password-env', 'MY_PASS', '--json'], env);
    assert.equal(made.code, 0, made.stderr);
    const out = JSON.parse(made.stdout);
    assert.match(out.fingerprint, /^[0-9a-f]{64}$/);
    assert.ok(!made.stdout.includes('correct horse') && !made.stderr.includes('correct horse'));
    assert.equal((await fs.stat(out.privateKeyPath)).mode & 0o777, 0o600);
    const signer = await FileSigner.load(out.privateKeyPath, 'correct horse');
    const sig = await signer.sign(Buffer.from('payload'));
    assert.ok(verifySignature(await fs.readFile(out.publicKeyPath, 'utf8'), Buffer.from('payload'), sig));

    const again = await runCli(['keys', 'generate', '--output-dir', dir, '--prefix', 'platform', '--password-env', 'MY_PASS'], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /refusing to overwrite/);

    const noPass = await runCli(['keys', 'generate', '--output-dir', dir, '--prefix', 'other'], {});
    assert.equal(noPass.code, 1);
    assert.match(noPass.stderr, /KEY_PASSPHRASE_MISSING: no passphrase: set COSIGN_PASSWORD/);
    const empty = await runCli(['keys', 'generate', '--output-dir', dir, '--prefix', 'other'], { COSIGN_PASSWORD: '' });
    assert.equal(empty.code, 2);
    assert.match(empty.stderr, /is empty/);
    await assert.rejects(fs.stat(path.join(dir, 'other.key')));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
