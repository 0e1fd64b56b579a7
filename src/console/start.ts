/** Starts the console on an address (loopback unless told otherwise) and says where it listens. */
import type { Client } from '@temporalio/client';
import type { AddressInfo } from 'node:net';
import { CountersignError } from '../errors';
import { RegistryStore } from '../oci/registry';
import type { ConsoleAccess } from './auth';
import { DEFAULT_CONSOLE_HOST, DEFAULT_CONSOLE_PORT, createConsole } from './server';

/** Hosts the no-login dev console may listen on: loopback is its only access control. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export interface Listen {
  host: string;
  port: number;
}

/** "HOST:PORT", ":PORT" or "PORT"; the host defaults to 127.0.0.1. */
export function parseListen(value: string | undefined): Listen {
  if (value === undefined || value === '') return { host: DEFAULT_CONSOLE_HOST, port: DEFAULT_CONSOLE_PORT };
  const m = /^(?:(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]*):)?(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new CountersignError('BAD_INPUT', `--listen "${value.slice(0, 80)}" is not HOST:PORT (port 0-65535), e.g. 127.0.0.1:${DEFAULT_CONSOLE_PORT}`);
  return { host: m[1] ? m[1].replace(/^\[|\]$/g, '') : DEFAULT_CONSOLE_HOST, port };
}

export async function startConsole(client: Client, listen: Listen, access: ConsoleAccess, options: { temporalUi?: { url: string; namespace: string } } = {}): Promise<{ url: string; close(): Promise<void> }> {
  if (!access.login && !isLoopback(listen.host)) {
    throw new CountersignError('BAD_INPUT', `--dev-loopback serves without login, so only on loopback; --listen ${listen.host} is not (drop --dev-loopback and configure console.origin for passkey login)`);
  }
  const stores = new Map<string, RegistryStore>();
  const app = createConsole({
    client,
    access,
    ...(options.temporalUi ? { temporalUi: options.temporalUi } : {}),
    storeFor: (host) => stores.get(host) ?? stores.set(host, new RegistryStore(host)).get(host)!,
  });
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return { url: `http://${host}:${address.port}`, close: () => app.close() };
}
