/**
 * Minimal PEM (RFC 7468) reading and writing, shaped like Go's encoding/pem, which is what cosign
 * uses: the first complete block wins, text around it is ignored, RFC 1421 headers are skipped,
 * and the body must be standard base64 with padding.
 */

export interface PemBlock {
  label: string;
  body: Buffer;
}

const BLOCK = /-----BEGIN ([A-Z0-9][A-Z0-9 ]*)-----\r?\n([\s\S]*?)-----END \1-----/;
const STD_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Returns the first well-formed PEM block in `text`, or undefined when there is none. */
export function decodePem(text: string): PemBlock | undefined {
  const m = BLOCK.exec(text);
  if (!m) return undefined;
  const label = m[1];
  let lines = m[2].split(/\r?\n/);
  // RFC 1421 headers ("Proc-Type: ...") come first and end with a blank line.
  if (lines.length > 0 && lines[0].includes(':')) {
    const blank = lines.findIndex((l) => l.trim() === '');
    if (blank < 0) return undefined;
    lines = lines.slice(blank + 1);
  }
  const b64 = lines.join('').replace(/[ \t]/g, '');
  if (!STD_BASE64.test(b64)) return undefined;
  return { label, body: Buffer.from(b64, 'base64') };
}

/** Lists the labels of all BEGIN lines, for error messages about the wrong kind of PEM. */
export function pemLabels(text: string): string[] {
  return [...text.matchAll(/-----BEGIN ([^\r\n]*?)-----/g)].map((m) => m[1]);
}

/** Encodes one PEM block with 64-character lines and a trailing newline (as Go's pem.Encode). */
export function encodePem(label: string, body: Buffer): string {
  const b64 = body.toString('base64');
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${label}-----\n${lines.join('\n')}${lines.length ? '\n' : ''}-----END ${label}-----\n`;
}

/** True when `s` is standard (RFC 4648 §4), padded base64 — what Go's encoding/json uses for []byte. */
export function isStdBase64(s: string): boolean {
  return STD_BASE64.test(s);
}
