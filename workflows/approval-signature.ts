/**
 * Verifies an approver's signature inside the workflow sandbox (no node:crypto there): pure-JS
 * ECDSA P-256 over sha256 of the statement bytes, DER signature, as the CLI's node crypto makes it.
 */
import { p256 } from '@noble/curves/p256';
import { sha256 } from '@noble/hashes/sha256';

// The worker loads this module and @noble/curves once, shared by every workflow
// (SHARED_WORKFLOW_MODULES in workers/worker.ts), so the base point's table is built once per
// worker process. A worker without that sharing (or a replay) builds it once per workflow, where
// the library's default window (8) costs about 120 ms and a window of 2 about 15 ms; later checks
// cost the same with either (docs/benchmarks.md, "Approval signatures in the workflow sandbox").
p256.ProjectivePoint.BASE.precompute(2);

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

function hexToBytes(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

export function verifyStatementSignature(statement: string, signatureBase64: string, publicKeyHex: string): boolean {
  const der = fromBase64(signatureBase64);
  if (!der) return false;
  try {
    return p256.verify(der, sha256(utf8(statement)), hexToBytes(publicKeyHex), { lowS: false, format: 'der', prehash: false });
  } catch {
    return false;
  }
}
