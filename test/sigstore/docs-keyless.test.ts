/** docs/keyless.md: its YAML is what the configuration reads (the commands run as printed in test/workflows/keyless-promotion.test.ts). */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { parseKeyless } from '../../src/sigstore/config';

const ROOT = path.resolve(__dirname, '..', '..');
const doc = fs.readFileSync(path.join(ROOT, 'docs', 'keyless.md'), 'utf8');

test('the keyless.sign YAML in docs/keyless.md is what the configuration reads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-sign-doc-'));
  fs.mkdirSync(path.join(dir, 'sigstore'));
  fs.copyFileSync(path.join(ROOT, 'test', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json'), path.join(dir, 'sigstore', 'trusted_root.json'));
  fs.copyFileSync(path.join(ROOT, 'test', 'vectors', 'sigstore-local', 'signing_config.json'), path.join(dir, 'sigstore', 'signing_config.json'));
  const yaml = doc.match(/```yaml\n([\s\S]*?)```/)![1];
  const problems: string[] = [];
  const keyless = parseKeyless(YAML.parse(yaml).targets.production.keyless, 'targets.production.keyless', dir, (f, p) => problems.push(`${f}: ${p}`));
  assert.deepEqual(problems, []);
  assert.deepEqual(keyless?.require, { tlog: 1, sct: 0, timestamps: 1, rfc3161: 1 });
  assert.deepEqual(keyless?.sign, {
    signingConfig: path.join(dir, 'sigstore', 'signing_config.json'),
    identityToken: { tokenUrl: 'https://token.acme.internal/token', clientId: 'countersign-worker', clientSecretEnv: 'COUNTERSIGN_SIGSTORE_CLIENT_SECRET' },
  });
  fs.rmSync(dir, { recursive: true, force: true });
});
