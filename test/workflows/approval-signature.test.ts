/**
 * The in-sandbox check of an approver's signature (pure-JS P-256, with the small precompute
 * window the module sets and each roster key kept with its table) agrees with node's crypto on
 * what it signed: the genuine statement verifies, and a changed byte, another key or a malformed
 * signature do not; and it answers as @noble/curves' own verify does for any signature bytes.
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { test } from 'node:test';
import { p256 } from '@noble/curves/p256';
import { sha256 } from '@noble/hashes/sha256';
import fc from 'fast-check';
import { publicKeyPointHex } from '../../src/approval/roster';
import { verifyStatementSignature } from '../../workflows/approval-signature';
import { fuzzParams } from '../support/fuzz';

const N = p256.CURVE.n;
const libraryVerdict = (statement: string, der: Buffer, publicKeyHex: string): boolean => {
  try {
    return p256.verify(der, sha256(new TextEncoder().encode(statement)), Buffer.from(publicKeyHex, 'hex'), { lowS: false, format: 'der', prehash: false });
  } catch {
    return false;
  }
};

/** DER of two INTEGERs, as node writes a signature (a leading zero byte where the top bit is set). */
function derOf(r: bigint, s: bigint): Buffer {
  const int = (v: bigint) => {
    let hex = v.toString(16);
    if (hex.length % 2) hex = `0${hex}`;
    let bytes = Buffer.from(hex, 'hex');
    if (bytes[0] & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
    return Buffer.concat([Buffer.from([0x02, bytes.length]), bytes]);
  };
  const body = Buffer.concat([int(r), int(s)]);
  return Buffer.concat([Buffer.from([0x30, body.length]), body]);
}

test('signatures made by node crypto verify in the workflow, and nothing else does', () => {
  const alice = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const mallory = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const hex = (k: crypto.KeyObject) => publicKeyPointHex(k.export({ type: 'spki', format: 'pem' }).toString());
  const statement = JSON.stringify({ approver: 'alice', decision: 'approve', digest: `sha256:${'a'.repeat(64)}` });
  for (let i = 0; i < 5; i++) {
    const signature = crypto.sign('sha256', Buffer.from(statement), alice.privateKey).toString('base64');
    assert.equal(verifyStatementSignature(statement, signature, hex(alice.publicKey)), true);
    assert.equal(verifyStatementSignature(statement.replace('approve', 'apprové'), signature, hex(alice.publicKey)), false);
    assert.equal(verifyStatementSignature(statement, signature, hex(mallory.publicKey)), false);
  }
  assert.equal(verifyStatementSignature(statement, 'not base64!', hex(alice.publicKey)), false);
  assert.equal(verifyStatementSignature(statement, Buffer.alloc(70, 1).toString('base64'), hex(alice.publicKey)), false);
});

test('it answers as the library verify does: genuine, high-S twins, edited statements, edited and out-of-range signatures', () => {
  const keys = Array.from({ length: 3 }, () => crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' }));
  const hexOf = (k: crypto.KeyObject) => publicKeyPointHex(k.export({ type: 'spki', format: 'pem' }).toString());
  fc.assert(
    fc.property(
      fc.string({ maxLength: 200 }),
      fc.nat({ max: 2 }),
      fc.nat({ max: 2 }),
      fc.constantFrom('genuine', 'high-s twin', 'other statement', 'byte edited', 'r = n', 's = 0', 's + n'),
      fc.nat(),
      (statement, signer, checker, variant, at) => {
        const der = crypto.sign('sha256', Buffer.from(statement), keys[signer].privateKey);
        const { r, s } = p256.Signature.fromDER(der);
        let sig: Buffer = der;
        let text = statement;
        if (variant === 'high-s twin') sig = derOf(r, N - s);
        if (variant === 'other statement') text = `${statement}.`;
        if (variant === 'byte edited') {
          sig = Buffer.from(der);
          sig[at % sig.length] ^= 1 << at % 8;
        }
        if (variant === 'r = n') sig = derOf(N, s);
        if (variant === 's = 0') sig = derOf(r, 0n);
        if (variant === 's + n') sig = derOf(r, s + N);
        const key = hexOf(keys[checker].publicKey);
        const ours = verifyStatementSignature(text, sig.toString('base64'), key);
        assert.equal(ours, libraryVerdict(text, sig, key), `${variant}, signed by ${signer}, checked with ${checker}`);
        if (variant === 'genuine' || variant === 'high-s twin') assert.equal(ours, signer === checker);
      },
    ),
    fuzzParams(300),
  );
});

test('a public key that is not a point on the curve verifies nothing', () => {
  const alice = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const statement = 'x';
  const signature = crypto.sign('sha256', Buffer.from(statement), alice.privateKey).toString('base64');
  const good = publicKeyPointHex(alice.publicKey.export({ type: 'spki', format: 'pem' }).toString());
  const offCurve = `${good.slice(0, -2)}${((parseInt(good.slice(-2), 16) + 1) % 256).toString(16).padStart(2, '0')}`;
  assert.equal(verifyStatementSignature(statement, signature, good), true);
  assert.equal(verifyStatementSignature(statement, signature, offCurve), false);
  assert.equal(verifyStatementSignature(statement, signature, '04'), false);
});
