/** A target's keyless: section: every mistake named with its field, and a root that is not one refused at start. */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseKeyless } from '../../src/sigstore/config';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-config-'));
fs.copyFileSync(path.join(__dirname, '..', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json'), path.join(dir, 'root.json'));
fs.copyFileSync(path.join(__dirname, '..', 'vectors', 'sigstore-conformance', 'bundle-verify', 'trust-root-tlog-missing-validity-start_fail', 'trusted_root.json'), path.join(dir, 'open-ended.json'));
fs.writeFileSync(path.join(dir, 'not-a-root.json'), '{"mediaType":"application/json"}');
const ID = { subject: 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.actions.githubusercontent.com' };

function problems(value: unknown): string[] {
  const out: string[] = [];
  parseKeyless(value, 'targets.prod.keyless', dir, (f, p) => out.push(`${f}: ${p}`));
  return out;
}

test('a good section reads, with the default requirements', () => {
  const out: string[] = [];
  const keyless = parseKeyless({ trustedRoot: 'root.json', identities: [ID] }, 'k', dir, (f, p) => out.push(`${f}: ${p}`));
  assert.deepEqual(out, []);
  assert.equal(keyless?.trustedRoot, path.join(dir, 'root.json'));
  assert.deepEqual(keyless?.require, { tlog: 1, sct: 1, timestamps: 1, rfc3161: 0 });
});

test('each mistake is named with its field', () => {
  assert.deepEqual(problems({ identities: [ID] }), ['targets.prod.keyless.trustedRoot: is required: the path of a pinned trusted_root.json']);
  assert.match(problems({ trustedRoot: 'missing.json', identities: [ID] })[0], /^targets.prod.keyless.trustedRoot: trusted root .*missing.json cannot be read \(ENOENT\)/);
  assert.match(problems({ trustedRoot: 'not-a-root.json', identities: [ID] })[0], /mediaType "application\/json" is not a sigstore trusted root/);
  assert.match(problems({ trustedRoot: 'open-ended.json', identities: [ID] })[0], /tlogs\[1\]\.publicKey\.validFor\.start is missing/);
  assert.deepEqual(problems({ trustedRoot: 'root.json', identities: [] }), ['targets.prod.keyless.identities: must list at least one { subject | subjectRegExp, issuer | issuerRegExp }']);
  assert.deepEqual(problems({ trustedRoot: 'root.json', identities: [{ ...ID, subjectRegExp: '.*' }] }), ['targets.prod.keyless.identities[0]: give one of subject and subjectRegExp']);
  assert.deepEqual(problems({ trustedRoot: 'root.json', identities: [{ subject: ID.subject }] }), ['targets.prod.keyless.identities[0]: give one of issuer and issuerRegExp']);
  assert.match(problems({ trustedRoot: 'root.json', identities: [{ subjectRegExp: '(', issuer: ID.issuer }] })[0], /^targets.prod.keyless.identities\[0\].subjectRegExp: is not a regular expression/);
  assert.deepEqual(problems({ trustedRoot: 'root.json', identities: [ID], require: { timestamps: 0, tlog: -1, sct: 11 } }), [
    'targets.prod.keyless.require.tlog: must be a whole number from 0 to 10',
    'targets.prod.keyless.require.sct: must be a whole number from 0 to 10',
    'targets.prod.keyless.require.timestamps: must be a whole number from 1 to 10',
  ]);
});
