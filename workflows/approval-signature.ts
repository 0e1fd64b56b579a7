/**
 * Verifies an approver's signature inside the workflow sandbox (no node:crypto there): pure-JS
 * ECDSA P-256 over sha256 of the statement bytes, DER signature, as the CLI's node crypto makes it.
 */
import { invert, mod } from '@noble/curves/abstract/modular';
import { p256 } from '@noble/curves/p256';
import { bytesToNumberBE } from '@noble/curves/utils';
import { sha256 } from '@noble/hashes/sha256';

// The worker loads this module and @noble/curves once, shared by every workflow
// (SHARED_WORKFLOW_MODULES in workers/worker.ts), so the base point's table is built once per
// worker process. A worker without that sharing (or a replay) builds it once per workflow, where
// the library's default window (8) costs about 120 ms and a window of 2 about 15 ms; later checks
// cost the same with either (docs/benchmarks.md, "Approval signatures in the workflow sandbox").
p256.ProjectivePoint.BASE.precompute(2);

type Point = InstanceType<typeof p256.ProjectivePoint>;

/** Roster keys with their tables, shared like the base point's: about 100 KiB each, a handful per deployment. */
const ROSTER_KEYS_MAX = 64;
// A window of 4 for an approver's key: its table takes about 3 ms to build, once per worker and
// key, and each later check then costs about half as much (docs/benchmarks.md, "Approval
// signatures in the workflow sandbox").
const ROSTER_KEY_WINDOW = 4;
const rosterKeys = new Map<string, Point>();

/** The key's point, checked on the curve (fromHex does), with its table; the least recently used goes past ROSTER_KEYS_MAX. */
function rosterKey(publicKeyHex: string): Point {
  let point = rosterKeys.get(publicKeyHex);
  if (point) {
    rosterKeys.delete(publicKeyHex);
  } else {
    point = p256.ProjectivePoint.fromHex(publicKeyHex);
    point.precompute(ROSTER_KEY_WINDOW);
  }
  rosterKeys.set(publicKeyHex, point);
  for (const oldest of rosterKeys.keys()) {
    if (rosterKeys.size <= ROSTER_KEYS_MAX) break;
    rosterKeys.delete(oldest);
  }
  return point;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  const clean = text.replace(/=+$/, '');
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const ch of clean) {
    buffer = (buffer << 6) | alphabet.indexOf(ch);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out);
}

/**
 * ECDSA P-256 verification (FIPS 186-5, 6.4.2) over sha256 of the statement, with the library's
 * DER parsing (r and s in [1, n-1]) and point arithmetic; it is the library's verify, but with the
 * roster key's point kept with its table instead of parsed afresh and multiplied without one.
 * High-S signatures verify, as node's crypto makes and accepts them.
 */
export function verifyStatementSignature(statement: string, signatureBase64: string, publicKeyHex: string): boolean {
  const der = fromBase64(signatureBase64);
  if (!der) return false;
  try {
    const { r, s } = p256.Signature.fromDER(der);
    const n = p256.CURVE.n;
    // sha256 is as long as n, so the hash is taken whole, mod n.
    const e = mod(bytesToNumberBE(sha256(utf8(statement))), n);
    const w = invert(s, n);
    const sum = p256.ProjectivePoint.BASE.multiplyUnsafe(mod(e * w, n)).add(rosterKey(publicKeyHex).multiplyUnsafe(mod(r * w, n)));
    if (sum.equals(p256.ProjectivePoint.ZERO)) return false;
    return mod(sum.toAffine().x, n) === r;
  } catch {
    return false;
  }
}
