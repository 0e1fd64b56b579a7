/**
 * A free loopback port below the kernel's ephemeral range, for a test that stops a stack and binds
 * the same port again later. A port from freePort() comes out of the ephemeral range, where in the
 * meantime any process's outgoing connection (the suite runs files side by side) may take it as
 * its local port and make the second bind fail.
 */
import { readFileSync } from 'node:fs';
import { portFree } from '../../src/stack/ports';

/** The lowest ephemeral port (Linux's ip_local_port_range; 32768 where it cannot be read). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > 2048 ? low : 32768;
  } catch {
    return 32768;
  }
}

/** Ports this process has handed out already: a second call never returns the same one. */
const handedOut = new Set<number>();

export async function stablePort(): Promise<number> {
  const high = ephemeralLow();
  const low = Math.max(1024, high - 12_000);
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await portFree(port, '127.0.0.1'))) continue;
    handedOut.add(port);
    return port;
  }
  throw new Error(`no free port between ${low} and ${high} after 100 tries`);
}
