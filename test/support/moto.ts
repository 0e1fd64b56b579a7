/**
 * The real moto_server (PyPI moto[server], installed by scripts/toolchain.sh) on a free loopback
 * port. moto 5.2.5 ignores MessageType DIGEST (it hashes the digest again), so its signatures do
 * not verify: use it for what it does right (key states, key specs, AccessDenied from a key
 * policy, throughput) and local-kms for signatures that must verify.
 */
import { locateTool } from '../../src/stack/tools';
import { stablePort } from './stable-port';
import { serveKms, type KmsTestServer } from './kms-server';

export function motoPath(): string | undefined {
  return locateTool('moto_server');
}

/** Starts moto_server on 127.0.0.1:<free port> and waits until it answers ListKeys. Keys live in memory only. */
export async function startMoto(): Promise<KmsTestServer> {
  const command = motoPath();
  if (!command) throw new Error('moto_server is not installed: run `bash scripts/toolchain.sh moto`');
  // restart() binds the same port again after an outage: one from below the ephemeral range (stable-port.ts).
  const port = await stablePort();
  return serveKms({ name: 'moto', port, command, args: ['-H', '127.0.0.1', '-p', String(port)] });
}
