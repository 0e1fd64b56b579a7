/**
 * What the KMS tests need from a local KMS API server (moto, local-kms): its endpoint, the AWS
 * settings a worker would be given, stop and restart, and a way to make keys through the SDK.
 */
import {
  CreateAliasCommand,
  CreateKeyCommand,
  DisableKeyCommand,
  KMSClient,
  ListKeysCommand,
  type KeySpec,
  type KeyUsageType,
} from '@aws-sdk/client-kms';
import { ServiceProcess } from '../../src/stack/service';

/** Test-only credentials: local KMS servers accept any. */
export const TEST_AWS_ENV = {
  AWS_REGION: 'eu-west-2',
  AWS_ACCESS_KEY_ID: 'countersign-test',
  AWS_SECRET_ACCESS_KEY: 'countersign-test-secret',
} as const;

export interface KmsTestServer {
  name: 'moto' | 'local-kms';
  /** 127.0.0.1:PORT, as written in an awskms:// reference. */
  address: string;
  /** http://127.0.0.1:PORT */
  url: string;
  /** AWS_* settings for a worker using this server (the endpoint comes from the key reference). */
  env: NodeJS.ProcessEnv;
  client: KMSClient;
  /** Stops the process (a KMS outage); restart() brings it back. */
  stop(): Promise<void>;
  /** Starts it again on the same port (local-kms keeps its keys; moto forgets them). */
  restart(): Promise<void>;
  /** Stops for good and removes what it wrote. */
  close(): Promise<void>;
}

export interface TestKey {
  keyId: string;
  arn: string;
  /** awskms://127.0.0.1:PORT/alias/NAME when an alias was asked for, else the key id form. */
  ref: string;
}

let aliasCounter = 0;

/** A KMS key through the SDK, with an alias unless `alias: false`. Defaults: ECC_NIST_P256, SIGN_VERIFY. */
export async function createTestKey(
  server: KmsTestServer,
  opts: { keySpec?: KeySpec; keyUsage?: KeyUsageType; alias?: string | false; policy?: string; disabled?: boolean } = {},
): Promise<TestKey> {
  const created = await server.client.send(
    new CreateKeyCommand({
      KeySpec: opts.keySpec ?? 'ECC_NIST_P256',
      KeyUsage: opts.keyUsage ?? 'SIGN_VERIFY',
      Policy: opts.policy,
      Description: 'countersign test key',
    }),
  );
  const keyId = created.KeyMetadata!.KeyId!;
  const arn = created.KeyMetadata!.Arn!;
  if (opts.disabled) await server.client.send(new DisableKeyCommand({ KeyId: keyId }));
  if (opts.alias === false) return { keyId, arn, ref: `awskms://${server.address}/${keyId}` };
  const alias = `alias/${opts.alias ?? `countersign-test-${process.pid}-${++aliasCounter}`}`;
  await server.client.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: keyId }));
  return { keyId, arn, ref: `awskms://${server.address}/${alias}` };
}

export function testClient(url: string): KMSClient {
  return new KMSClient({
    region: TEST_AWS_ENV.AWS_REGION,
    endpoint: url,
    credentials: { accessKeyId: TEST_AWS_ENV.AWS_ACCESS_KEY_ID, secretAccessKey: TEST_AWS_ENV.AWS_SECRET_ACCESS_KEY },
    maxAttempts: 1,
    requestHandler: { requestTimeout: 2_000, connectionTimeout: 1_000 },
  });
}

/**
 * Runs a KMS API server process on 127.0.0.1:port and waits until it answers a real KMS call
 * (ListKeys); restart() runs the same command on the same port again.
 */
export async function serveKms(opts: {
  name: KmsTestServer['name'];
  port: number;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cleanup?: () => Promise<void>;
}): Promise<KmsTestServer> {
  const address = `127.0.0.1:${opts.port}`;
  const url = `http://${address}`;
  const client = testClient(url);
  let proc: ServiceProcess | undefined;
  const start = async () => {
    proc = await ServiceProcess.start({ name: opts.name, command: opts.command, args: opts.args, env: opts.env });
    const what = `${opts.name} at ${url}`;
    await proc.waitUntilReady(async () => (await client.send(new ListKeysCommand({ Limit: 1 })), true), { timeoutMs: 30_000, intervalMs: 100, what });
  };
  await start();
  const stop = async () => {
    await proc?.stop();
  };
  return {
    name: opts.name,
    address,
    url,
    env: { ...TEST_AWS_ENV },
    client,
    stop,
    restart: async () => {
      await stop();
      await start();
    },
    close: async () => {
      await stop();
      client.destroy();
      await opts.cleanup?.();
    },
  };
}
