import { execFile } from 'node:child_process';
import * as crypto from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import nacl from 'tweetnacl';

export const VECTORS = path.join(__dirname, '..', 'vectors', 'cosign-keys');
/** Passphrase of the test-only key in test/vectors/cosign-keys (see its README). */
export const VECTOR_PASSWORD = 'countersign-test';

export function runCosign(
  bin: string,
  args: string[],
  opts: { password?: string; cwd?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.COSIGN_PASSWORD;
  if (opts.password !== undefined) env.COSIGN_PASSWORD = opts.password;
  return new Promise((resolve) => {
    execFile(bin, args, { env, cwd: opts.cwd, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'countersign-keys-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * Builds a cosign-format encrypted key by hand (independently of src/keys/cosign-key.ts), so tests
 * can feed the decoder unusual but well-formed documents.
 */
export function buildEncryptedPem(opts: {
  plaintext: Buffer;
  password: string;
  N?: number;
  label?: string;
  mutate?: (doc: Record<string, any>) => void;
}): string {
  const N = opts.N ?? 65536;
  const salt = crypto.randomBytes(32);
  const nonce = crypto.randomBytes(24);
  const key = crypto.scryptSync(Buffer.from(opts.password, 'utf8'), salt, 32, { N, r: 8, p: 1, maxmem: 512 * 1024 * 1024 });
  const box = nacl.secretbox(opts.plaintext, nonce, key);
  const doc: Record<string, any> = {
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(box).toString('base64'),
  };
  opts.mutate?.(doc);
  return pemWrap(opts.label ?? 'ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from(JSON.stringify(doc)));
}

export function pemWrap(label: string, body: Buffer): string {
  const b64 = body.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** Decodes the JSON document inside a cosign-format key PEM. */
export function pemJson(pem: string): any {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return JSON.parse(Buffer.from(b64, 'base64').toString('utf8'));
}

export function relabel(pem: string, from: string, to: string): string {
  return pem.split(from).join(to);
}
