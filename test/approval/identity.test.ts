import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { normaliseIdentity, sameIdentity } from '../../src/approval/identity';

test('normaliseIdentity: e-mail addresses are lower-cased entirely, surrounding blanks dropped', () => {
  assert.equal(normaliseIdentity('Alice@ACME.com'), 'alice@acme.com');
  assert.equal(normaliseIdentity('  Alice@ACME.com\t\n'), 'alice@acme.com');
  assert.equal(normaliseIdentity('alice '), 'alice');
  assert.equal(normaliseIdentity('alice@acme.com'), 'alice@acme.com');
});

test('normaliseIdentity: handles are case-insensitive too (GitHub, GitLab)', () => {
  assert.equal(normaliseIdentity('RamonPetgrave64'), 'ramonpetgrave64');
  // Blanks inside are part of the identity; only the surrounding ones go.
  assert.equal(normaliseIdentity(' Alice  Example '), 'alice  example');
});

test('normaliseIdentity: composed and decomposed accents are the same text', () => {
  assert.equal(normaliseIdentity('Ren\u00e9@acme.com'), normaliseIdentity('Rene\u0301@ACME.com'));
});

test('sameIdentity: Alice@ACME.com, alice@acme.com and " alice@acme.com " are one person', () => {
  assert.equal(sameIdentity('Alice@ACME.com', 'alice@acme.com'), true);
  assert.equal(sameIdentity('alice@acme.com', ' Alice@Acme.Com '), true);
  assert.equal(sameIdentity('alice ', 'alice'), true);
  assert.equal(sameIdentity('ALICE', 'alice'), true);
});

test('sameIdentity: a handle is not an e-mail address, and nothing blank or missing matches', () => {
  assert.equal(sameIdentity('alice', 'alice@acme.com'), false);
  assert.equal(sameIdentity('alice@acme.com', 'alice@acme.co'), false);
  assert.equal(sameIdentity('alice@acme.com', 'alice.smith@acme.com'), false);
  assert.equal(sameIdentity('', ''), false);
  assert.equal(sameIdentity('  ', ' '), false);
  assert.equal(sameIdentity(undefined, undefined), false);
  assert.equal(sameIdentity('alice', undefined), false);
  assert.equal(sameIdentity(undefined, 'alice'), false);
});

test('identity.ts imports nothing, so workflow code may use it', () => {
  const source = readFileSync(path.join(__dirname, '../../src/approval/identity.ts'), 'utf8');
  assert.deepEqual(source.match(/^\s*import\b.*$/gm) ?? [], []);
  assert.doesNotMatch(source, /require\(/);
});
