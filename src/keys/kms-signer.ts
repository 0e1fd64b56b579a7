/**
 * A Signer over an AWS KMS asymmetric key (`awskms://` references, as cosign names them). The
 * private key never leaves KMS: we send sha256(data) with MessageType DIGEST and get DER back.
 */
import * as crypto from 'node:crypto';
import { DescribeKeyCommand, GetPublicKeyCommand, KMSClient, SignCommand, type KeyMetadata } from '@aws-sdk/client-kms';
import { CountersignError } from '../errors';
import { type KmsKeyRef, parseKmsRef, resolveEndpoint, resolveRegion } from './kms-ref';
import { assertP256 } from './public-key';
import type { Signer } from './signer';
import { classifyKmsError } from './kms-errors';

export const DEFAULT_KMS_MAX_ATTEMPTS = 4;
export const DEFAULT_KMS_BASE_DELAY_MS = 250;
export const DEFAULT_KMS_MAX_DELAY_MS = 2_000;
export const DEFAULT_KMS_REQUEST_TIMEOUT_MS = 10_000;
/** How long a key check (state, spec, public key) is trusted before DescribeKey runs again. */
export const DEFAULT_KMS_KEY_CHECK_TTL_MS = 5 * 60_000;

export const REQUIRED_KEY_SPEC = 'ECC_NIST_P256';
export const REQUIRED_KEY_USAGE = 'SIGN_VERIFY';
export const SIGNING_ALGORITHM = 'ECDSA_SHA_256';

export interface KmsSignerOptions {
  /** Where AWS_REGION, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, COUNTERSIGN_KMS_ENDPOINT are read. */
  env?: NodeJS.ProcessEnv;
  /** A ready client (tests inject one to watch its calls); otherwise one is built from env. */
  client?: KMSClient;
  /** Calls per KMS operation, first one included, before KMS_UNAVAILABLE. */
  maxAttempts?: number;
  baseDelayMs?: number;
  maxDelayMs?: number;
  requestTimeoutMs?: number;
  keyCheckTtlMs?: number;
  /** Verify each signature KMS returns against the key's public key before handing it out. */
  checkSignatures?: boolean;
  /** Waits between attempts (tests pass one that records the backoff instead of waiting). */
  sleep?: (ms: number) => Promise<void>;
}

interface CheckedKey {
  /** The key's ARN: signing goes to it, so an alias moved meanwhile cannot swap the key under us. */
  arn: string;
  publicKey: crypto.KeyObject;
  pem: string;
  checkedAt: number;
}

/** Builds the SDK client the way a worker needs it: explicit endpoint, region and credentials, our own retries. */
export function createKmsClient(ref: KmsKeyRef, env: NodeJS.ProcessEnv, requestTimeoutMs = DEFAULT_KMS_REQUEST_TIMEOUT_MS): KMSClient {
  const endpoint = resolveEndpoint(ref, env);
  const region = resolveRegion(ref, env, endpoint);
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  const credentials =
    accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined } : undefined;
  return new KMSClient({
    region,
    endpoint,
    credentials, // undefined: the SDK's default chain (instance role, SSO, profile)
    maxAttempts: 1, // retries are ours, so they are bounded and end in one clear error
    requestHandler: { requestTimeout: requestTimeoutMs, connectionTimeout: Math.min(requestTimeoutMs, 3_000) },
  });
}

export class KmsSigner implements Signer {
  readonly keyRef: string;
  readonly #ref: KmsKeyRef;
  readonly #client: KMSClient;
  readonly #opts: Required<Omit<KmsSignerOptions, 'env' | 'client'>>;
  #checked: Promise<CheckedKey> | undefined;

  constructor(ref: string, options: KmsSignerOptions = {}) {
    this.#ref = parseKmsRef(ref);
    this.keyRef = ref;
    this.#client = options.client ?? createKmsClient(this.#ref, options.env ?? process.env, options.requestTimeoutMs);
    this.#opts = {
      maxAttempts: Math.max(1, options.maxAttempts ?? DEFAULT_KMS_MAX_ATTEMPTS),
      baseDelayMs: options.baseDelayMs ?? DEFAULT_KMS_BASE_DELAY_MS,
      maxDelayMs: options.maxDelayMs ?? DEFAULT_KMS_MAX_DELAY_MS,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_KMS_REQUEST_TIMEOUT_MS,
      keyCheckTtlMs: options.keyCheckTtlMs ?? DEFAULT_KMS_KEY_CHECK_TTL_MS,
      checkSignatures: options.checkSignatures ?? true,
      sleep: options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
    };
  }

  async sign(data: Buffer): Promise<Buffer> {
    if (!((data as unknown) instanceof Uint8Array)) throw new CountersignError('BAD_INPUT', 'sign() needs a Buffer');
    const key = await this.#key();
    const digest = crypto.createHash('sha256').update(data).digest();
    const out = await this.#call('Sign', () =>
      this.#client.send(new SignCommand({ KeyId: key.arn, Message: digest, MessageType: 'DIGEST', SigningAlgorithm: SIGNING_ALGORITHM })),
    );
    if (!out.Signature || out.Signature.length === 0) {
      throw new CountersignError('KMS_UNAVAILABLE', `${this.keyRef}: KMS Sign returned no signature`);
    }
    const signature = Buffer.from(out.Signature);
    if (this.#opts.checkSignatures && !crypto.verify('sha256', data, { key: key.publicKey, dsaEncoding: 'der' }, signature)) {
      this.#checked = undefined; // the key may have changed under an alias: look again next time
      throw new CountersignError(
        'SIGNATURE_INVALID',
        `${this.keyRef}: the signature KMS returned does not verify over sha256(data) with the key's public key ` +
          `(does this KMS honour MessageType DIGEST, or did the key change?)`,
        { details: { keyRef: this.keyRef, keyArn: key.arn } },
      );
    }
    return signature;
  }

  async publicKeyPem(): Promise<string> {
    return (await this.#key()).pem;
  }

  /** Logs and JSON show only the reference. */
  toJSON(): { keyRef: string } {
    return { keyRef: this.keyRef };
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KmsSigner(${this.keyRef})`;
  }

  /** The checked key, from cache while fresh; a failed check is never cached. */
  async #key(): Promise<CheckedKey> {
    const cached = this.#checked;
    if (cached) {
      const key = await cached;
      if (Date.now() - key.checkedAt < this.#opts.keyCheckTtlMs) return key;
      if (this.#checked !== cached) return this.#key(); // another caller is already refreshing
    }
    const next = this.#checkKey();
    this.#checked = next;
    next.catch(() => {
      if (this.#checked === next) this.#checked = undefined;
    });
    return next;
  }

  async #checkKey(): Promise<CheckedKey> {
    const described = await this.#call('DescribeKey', () => this.#client.send(new DescribeKeyCommand({ KeyId: this.#ref.keyId })));
    const meta = described.KeyMetadata;
    if (!meta?.Arn) throw new CountersignError('KMS_UNAVAILABLE', `${this.keyRef}: DescribeKey returned no key metadata`);
    assertUsableKey(this.keyRef, meta);
    const got = await this.#call('GetPublicKey', () => this.#client.send(new GetPublicKeyCommand({ KeyId: meta.Arn })));
    if (!got.PublicKey) throw new CountersignError('KMS_UNAVAILABLE', `${this.keyRef}: GetPublicKey returned no key`);
    let publicKey: crypto.KeyObject;
    try {
      publicKey = crypto.createPublicKey({ key: Buffer.from(got.PublicKey), format: 'der', type: 'spki' });
    } catch (cause) {
      throw new CountersignError('KEY_INVALID', `${this.keyRef}: GetPublicKey returned no valid SPKI public key`, { cause });
    }
    try {
      assertP256(publicKey, `${this.keyRef} public key`);
    } catch (cause) {
      throw new CountersignError('KMS_WRONG_KEY_SPEC', (cause as Error).message.replace(/^KEY_INVALID: /, ''), { cause });
    }
    const pem = publicKey.export({ format: 'pem', type: 'spki' }).toString();
    return { arn: meta.Arn, publicKey, pem, checkedAt: Date.now() };
  }

  /** One KMS operation with bounded, jittered exponential backoff for what may clear up. */
  async #call<T>(operation: string, run: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await run();
      } catch (err) {
        const verdict = classifyKmsError(err, this.keyRef, operation);
        if (!verdict.retry) throw verdict.error;
        if (attempt >= this.#opts.maxAttempts) {
          throw new CountersignError(
            'KMS_UNAVAILABLE',
            `${this.keyRef}: KMS ${operation} failed ${attempt} time(s): ${verdict.reason}`,
            { cause: err, details: { keyRef: this.keyRef, operation, attempts: attempt } },
          );
        }
        const cap = Math.min(this.#opts.maxDelayMs, this.#opts.baseDelayMs * 2 ** (attempt - 1));
        await this.#opts.sleep(cap / 2 + Math.random() * (cap / 2));
      }
    }
  }
}

/** KMS_KEY_DISABLED / KMS_WRONG_KEY_SPEC unless the key is enabled, ECC_NIST_P256, SIGN_VERIFY, ECDSA_SHA_256. */
export function assertUsableKey(keyRef: string, meta: KeyMetadata): void {
  const details = { keyRef, keyArn: meta.Arn, keyState: meta.KeyState, keySpec: meta.KeySpec ?? meta.CustomerMasterKeySpec, keyUsage: meta.KeyUsage };
  if (meta.KeyState !== undefined ? meta.KeyState !== 'Enabled' : meta.Enabled !== true) {
    throw new CountersignError('KMS_KEY_DISABLED', `${keyRef}: KMS key ${meta.Arn} is ${meta.KeyState ?? 'disabled'}, not Enabled`, { details });
  }
  const spec = meta.KeySpec ?? meta.CustomerMasterKeySpec;
  if (spec !== REQUIRED_KEY_SPEC) {
    throw new CountersignError('KMS_WRONG_KEY_SPEC', `${keyRef}: KMS key ${meta.Arn} has key spec ${spec ?? 'unknown'}; cosign-compatible signing needs ${REQUIRED_KEY_SPEC}`, { details });
  }
  if (meta.KeyUsage !== REQUIRED_KEY_USAGE) {
    throw new CountersignError('KMS_WRONG_KEY_SPEC', `${keyRef}: KMS key ${meta.Arn} has key usage ${meta.KeyUsage ?? 'unknown'}; signing needs ${REQUIRED_KEY_USAGE}`, { details });
  }
  if (meta.SigningAlgorithms && !meta.SigningAlgorithms.includes(SIGNING_ALGORITHM)) {
    throw new CountersignError('KMS_WRONG_KEY_SPEC', `${keyRef}: KMS key ${meta.Arn} does not offer ${SIGNING_ALGORITHM}`, { details });
  }
}
