import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { runCli } from '../support/cli';
import { DEMO_DIR, DEMO_FILE, TEST_KEY_PASSPHRASE, VECTORS, tempDir } from './helpers';

test('countersign helm package, sign, verify and repo-index', async () => {
  const out = await tempDir();
  const pkg = await runCli(['helm', 'package', DEMO_DIR, '--destination', out, '--json']);
  assert.equal(pkg.code, 0, pkg.stderr);
  const tgz = path.join(out, DEMO_FILE);
  assert.equal(JSON.parse(pkg.stdout).file, tgz);

  const env = { COUNTERSIGN_PGP_PASSPHRASE: TEST_KEY_PASSPHRASE };
  const signed = await runCli(['helm', 'sign', tgz, '--key', path.join(VECTORS, 'test-key.asc')], env);
  assert.equal(signed.code, 0, signed.stderr);
  await fs.access(`${tgz}.prov`);

  const verified = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.gpg'), '--json']);
  assert.equal(verified.code, 0, verified.stderr);
  assert.equal(JSON.parse(verified.stdout).ok, true);

  const armored = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.asc'), '--json']);
  assert.equal(armored.code, 1);
  assert.equal(JSON.parse(armored.stdout).error.code, 'KEYRING_ARMORED');
  assert.equal((await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.asc'), '--allow-armored-keyring'])).code, 0);

  await fs.appendFile(tgz, Buffer.from([0]));
  const tampered = await runCli(['helm', 'verify', tgz, '--keyring', path.join(VECTORS, 'keyring.gpg')]);
  assert.equal(tampered.code, 1);
  assert.match(tampered.stderr, /PROVENANCE_DIGEST_MISMATCH/);

  const wrongPass = await runCli(['helm', 'sign', tgz, '--key', path.join(VECTORS, 'test-key.asc')], { COUNTERSIGN_PGP_PASSPHRASE: 'nope' });
  assert.equal(wrongPass.code, 1);
  assert.match(wrongPass.stderr, /KEY_WRONG_PASSPHRASE/);

  const repo = await runCli(['helm', 'repo-index', out, '--url', 'https://charts.example.com', '--json']);
  assert.equal(repo.code, 0, repo.stderr);
  assert.deepEqual(JSON.parse(repo.stdout).charts.map((c: { name: string; hasProvenance: boolean }) => [c.name, c.hasProvenance]), [['demo', true]]);
  assert.match(await fs.readFile(path.join(out, 'index.yaml'), 'utf8'), /https:\/\/charts.example.com\/demo-1.2.3.tgz/);
});

test('every helm command has --help', async () => {
  for (const sub of ['package', 'sign', 'verify', 'keygen', 'repo-index', 'release']) {
    const help = await runCli(['helm', sub, '--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`Usage: countersign helm ${sub}`));
  }
});
