/**
 * Opens connections to Temporal with the settings from ./connection, and says why one failed.
 * Over TLS, grpc-js reports a refused handshake only as "Failed to connect before the deadline"
 * once the connect timeout has passed (and its doomed attempt lingers), and the worker's Rust
 * connection often only as "connection closed"; ./tls-probe asks the server itself.
 */
import { Connection } from '@temporalio/client';
import type { Duration } from '@temporalio/common';
import { CountersignError } from '../errors';
import { describeTls, type TemporalTls } from './connection';
import { probeTls } from './tls-probe';

export interface ConnectOptions {
  /** The SDK's default (10 s) when omitted. */
  connectTimeout?: Duration;
  /** Why this connection is made, for the error message (e.g. "for visibility"). */
  purpose?: string;
  /** Added to the error message: what to do when nothing answers (e.g. how to start the server). */
  hint?: string;
}

interface Target {
  address: string;
  tls?: TemporalTls;
}

function failure(target: Target, options: ConnectOptions, reason: string, cause?: unknown): CountersignError {
  const purpose = options.purpose ? ` ${options.purpose}` : '';
  const hint = options.hint ? ` (${options.hint})` : '';
  return new CountersignError('STACK_ERROR', `cannot reach Temporal at ${target.address}${purpose} over ${describeTls(target.tls)}: ${reason}${hint}`, { cause });
}

/**
 * Connection.connect over plain TCP or TLS; failures are STACK_ERROR naming the address, the TLS
 * in use and the reason. Over TLS the server is asked first: grpc-js does TLS with node:tls, as the
 * probe does, so a refusal there is one here, and is reported at once.
 */
export async function connectTemporalClient(target: Target, options: ConnectOptions = {}): Promise<Connection> {
  if (target.tls) {
    const { refused } = await probeTls(target.address, target.tls);
    if (refused) throw failure(target, options, refused);
  }
  try {
    return await Connection.connect({ address: target.address, tls: target.tls?.config, connectTimeout: options.connectTimeout });
  } catch (cause) {
    throw failure(target, options, (cause as Error).message, cause);
  }
}

/**
 * Awaits another connection attempt (the worker's NativeConnection), and when it fails over TLS,
 * asks the server why. Only afterwards: its Rust TLS stack and roots are not node's, so the probe
 * explains its failures but must not veto it.
 */
export async function explainConnectFailure<T>(target: Target, connecting: Promise<T>, options: ConnectOptions = {}): Promise<T> {
  try {
    return await connecting;
  } catch (cause) {
    const verdict = target.tls ? await probeTls(target.address, target.tls) : {};
    throw failure(target, options, verdict.refused ?? (cause as Error).message, cause);
  }
}
