import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@temporalio/client';
import { OpenTelemetryWorkflowClientInterceptor } from '@temporalio/interceptors-opentelemetry';
import { DEFAULT_CONFIG_FILE, loadConfig, type Config, type TargetConfig } from '../config';
import { CountersignError } from '../errors';
import { connectTemporalClient } from '../temporal/connect';
import { temporalTls } from '../temporal/connection';
import { temporalUiUrl } from '../temporal/ui-link';
import { CountersignClient } from '../client/countersign-client';
import type { ParsedArgs } from './command';

export interface StackState {
  dataDir: string;
  temporal: { address: string; uiUrl?: string; pid: number };
  registry: { address: string; pid: number };
  worker?: { pid: number; logFile: string };
  /** The approval console on loopback (read-only). */
  console?: { pid: number; url: string; logFile: string };
  startedAt: string;
}

/** Where countersign keeps its state: $COUNTERSIGN_HOME or ~/.countersign. */
export function countersignHome(env: NodeJS.ProcessEnv): string {
  return path.resolve(env.COUNTERSIGN_HOME ?? path.join(os.homedir(), '.countersign'));
}

export function stackStateFile(dataDir: string): string {
  return path.join(dataDir, 'stack.json');
}

export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return path.join(countersignHome(env), 'dev');
}

export function readStackState(dataDir: string): StackState | undefined {
  try {
    return JSON.parse(fs.readFileSync(stackStateFile(dataDir), 'utf8')) as StackState;
  } catch {
    return undefined;
  }
}

/** --address, then $TEMPORAL_ADDRESS, then a running dev stack, then the Temporal default. */
export function temporalAddress(args: ParsedArgs, env: NodeJS.ProcessEnv): string {
  const flag = args.values.address as string | undefined;
  if (flag) return flag;
  if (env.TEMPORAL_ADDRESS) return env.TEMPORAL_ADDRESS;
  return readStackState(defaultDataDir(env))?.temporal.address ?? '127.0.0.1:7233';
}

/** A client for the address above, over TLS when TEMPORAL_TLS_* ask for it (src/temporal/connection.ts). */
export async function connectClient(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<{ client: Client; close(): Promise<void> }> {
  const address = temporalAddress(args, env);
  const connection = await connectTemporalClient({ address, tls: temporalTls(env) }, {
    connectTimeout: '5s',
    hint: 'start it with "countersign dev up", or pass --address',
  });
  const namespace = (args.values.namespace as string | undefined) ?? env.TEMPORAL_NAMESPACE ?? 'default';
  // Carries the command's trace into the workflow it starts or updates (a no-op without tracing).
  const interceptors = { workflow: [new OpenTelemetryWorkflowClientInterceptor()] };
  return { client: new Client({ connection, namespace, interceptors }), close: () => connection.close() };
}

/** The Temporal Web UI's address: TEMPORAL_UI_URL, or the dev stack's UI when this command talks to the dev stack. */
export function temporalUiFor(args: ParsedArgs, env: NodeJS.ProcessEnv): string | undefined {
  const stack = readStackState(defaultDataDir(env));
  return temporalUiUrl(env, stack && stack.temporal.address === temporalAddress(args, env) ? stack.temporal.uiUrl : undefined);
}

/**
 * The client API (src/client/countersign-client.ts) over connectClient's connection, with the
 * Temporal Web UI for links when it is known: TEMPORAL_UI_URL, or the dev stack's UI when this
 * command talks to the dev stack.
 */
export async function connectCountersign(args: ParsedArgs, env: NodeJS.ProcessEnv): Promise<CountersignClient> {
  const temporalUi = temporalUiFor(args, env);
  const { client, close } = await connectClient(args, env);
  return CountersignClient.fromTemporalClient(client, { temporalUi, close });
}

export function configFile(args: ParsedArgs, env: NodeJS.ProcessEnv): string {
  return path.resolve((args.values.config as string | undefined) ?? env.COUNTERSIGN_CONFIG ?? DEFAULT_CONFIG_FILE);
}

/** Loads the config; a registry-relative repository falls back to the dev stack's registry. */
export function loadCliConfig(args: ParsedArgs, env: NodeJS.ProcessEnv): Config {
  const registry = env.COUNTERSIGN_REGISTRY ?? readStackState(defaultDataDir(env))?.registry.address;
  return loadConfig(configFile(args, env), { ...env, COUNTERSIGN_REGISTRY: registry });
}

export function findTarget(config: Config, name: string | undefined): TargetConfig {
  const names = Object.keys(config.targets);
  if (!name) {
    if (names.length === 1) return config.targets[names[0]];
    throw new CountersignError('BAD_INPUT', `--target is required (targets in ${config.file}: ${names.join(', ')})`);
  }
  const target = config.targets[name];
  if (!target) throw new CountersignError('UNKNOWN_TARGET', `no target "${name}" in ${config.file} (targets: ${names.join(', ')})`);
  return target;
}
