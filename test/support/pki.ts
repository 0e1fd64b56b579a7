/**
 * A throwaway PKI made at test time with the `openssl` command line: a CA, server certificates
 * (with the names they answer to) and client certificates, each an unencrypted P-256 key beside a
 * PEM certificate, as an operator's PKI would hand them out.
 */
import { execFileSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface Issued {
  /** Path of the PEM certificate. */
  cert: string;
  /** Path of the PEM private key. */
  key: string;
}

/** Throws with an install hint when `openssl` is not on PATH. */
export function requireOpenssl(): void {
  try {
    execFileSync('openssl', ['version'], { stdio: 'pipe' });
  } catch {
    throw new Error('the openssl command line is needed for the TLS tests (Debian: apt-get install -y openssl)');
  }
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
}

const P256 = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];

/** A self-signed CA named `name`, written to dir/name.pem and dir/name.key. */
export function makeCa(dir: string, name: string): Issued {
  fs.mkdirSync(dir, { recursive: true });
  const cnf = path.join(dir, `${name}.cnf`);
  fs.writeFileSync(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${name}`,
      '[ext]',
      'basicConstraints = critical,CA:TRUE',
      'keyUsage = critical,keyCertSign,cRLSign',
      'subjectKeyIdentifier = hash',
      '',
    ].join('\n'),
  );
  const issued = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  openssl(['req', '-x509', '-config', cnf, '-extensions', 'ext', ...P256, '-keyout', issued.key, '-out', issued.cert, '-days', '2'], dir);
  return issued;
}

/**
 * A certificate for `name` signed by `ca`: a server certificate answering to `serverNames` (DNS
 * names or IP addresses), or a client certificate when none are given.
 */
export function issue(ca: Issued, dir: string, name: string, serverNames: string[] = []): Issued {
  fs.mkdirSync(dir, { recursive: true });
  const cnf = path.join(dir, `${name}.cnf`);
  const sans = serverNames.map((n) => (/^[\d.]+$|:/.test(n) ? `IP:${n}` : `DNS:${n}`));
  fs.writeFileSync(
    cnf,
    [
      '[req]',
      'distinguished_name = dn',
      'prompt = no',
      '[dn]',
      `CN = ${name}`,
      '[ext]',
      'basicConstraints = critical,CA:FALSE',
      'keyUsage = critical,digitalSignature',
      `extendedKeyUsage = ${serverNames.length > 0 ? 'serverAuth' : 'clientAuth'}`,
      ...(sans.length > 0 ? [`subjectAltName = ${sans.join(',')}`] : []),
      'subjectKeyIdentifier = hash',
      'authorityKeyIdentifier = keyid',
      '',
    ].join('\n'),
  );
  const issued = { cert: path.join(dir, `${name}.pem`), key: path.join(dir, `${name}.key`) };
  const csr = path.join(dir, `${name}.csr`);
  openssl(['req', '-new', '-config', cnf, ...P256, '-keyout', issued.key, '-out', csr], dir);
  const serial = `0x${crypto.randomBytes(8).toString('hex')}`;
  openssl(['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-set_serial', serial, '-days', '2', '-extfile', cnf, '-extensions', 'ext', '-out', issued.cert], dir);
  return issued;
}
