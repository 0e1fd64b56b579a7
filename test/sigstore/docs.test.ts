/** docs/policy.md, "Keyless developer signatures": its YAML parses, and its command runs as printed. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import YAML from 'yaml';
import { parseKeyless } from '../../src/sigstore/config';
import { runCli } from '../support/cli';

const ROOT = path.resolve(__dirname, '..', '..');
const section = fs.readFileSync(path.join(ROOT, 'docs', 'policy.md'), 'utf8').split('## Keyless developer signatures')[1];
const block = (lang: string) => section.match(new RegExp('```' + lang + '\\n([\\s\\S]*?)```'))![1];

test('the keyless YAML in docs/policy.md is what the configuration reads', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-doc-'));
  fs.mkdirSync(path.join(dir, 'trust'));
  fs.copyFileSync(path.join(ROOT, 'test', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json'), path.join(dir, 'trust', 'trusted_root.json'));
  const problems: string[] = [];
  const keyless = parseKeyless(YAML.parse(block('yaml')).targets.production.keyless, 'targets.production.keyless', dir, (f, p) => problems.push(`${f}: ${p}`));
  assert.deepEqual(problems, []);
  assert.equal(keyless?.identities.length, 2);
  assert.deepEqual(keyless?.require, { tlog: 1, sct: 1, timestamps: 1, rfc3161: 0 });
});

test('the verify-blob command in docs/policy.md runs as printed, from the repository root', async () => {
  const argv = block('bash').trim().split(/\s+/);
  assert.equal(argv.shift(), 'countersign');
  const cwd = process.cwd();
  process.chdir(ROOT);
  try {
    const run = await runCli(argv);
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^Verified OK \(signed by https:\/\/github.com\/sigstore\/sigstore-js\/.github\/workflows\/release.yml@refs\/heads\/main/);
    assert.match(run.stdout, /cosign verify-blob --bundle .* --trusted-root /);
  } finally {
    process.chdir(cwd);
  }
});
