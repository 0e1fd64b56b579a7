/**
 * KmsSigner against real KMS API servers on loopback: local-kms (honours MessageType DIGEST, so
 * signatures verify) and moto (key states, AccessDenied from a key policy, and its DIGEST bug,
 * which the signer's own check catches). Reference parsing and error sorting need no server.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { KMSClient } from '@aws-sdk/client-kms';
import { parseConfig } from '../../src/config';
import { CountersignError, hasCode, type ErrorCode } from '../../src/errors';
import { classifyKmsError } from '../../src/keys/kms-errors';
import { endpointUrl, parseKmsRef, resolveEndpoint, resolveRegion } from '../../src/keys/kms-ref';
import { createKmsClient, KmsSigner } from '../../src/keys/kms-signer';
import { loadSigner } from '../../src/keys/load-signer';
import { verifySignature } from '../../src/keys/public-key';
import { freePort } from '../../src/stack/ports';
import { createTestKey, TEST_AWS_ENV, type KmsTestServer } from '../support/kms-server';
import { localKmsPath, startLocalKms } from '../support/local-kms';
import { motoPath, startMoto } from '../support/moto';

const UUID = '1234abcd-12ab-34cd-56ef-1234567890ab';
const KEY_ARN = `arn:aws:kms:us-east-2:111122223333:key/${UUID}`;
const ALIAS_ARN = 'arn:aws:kms:us-east-2:111122223333:alias/ExampleAlias';

function rejectsWith(code: ErrorCode) {
  return (err: unknown) => {
    assert.ok(hasCode(err, code), `expected ${code}, got ${err instanceof Error ? err.message : String(err)}`);
    return true;
  };
}

/** Counts the KMS operations a client sends. */
function countCalls(client: KMSClient): string[] {
  const calls: string[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      calls.push(String(context.commandName).replace(/Command$/, ''));
      return next(args);
    },
    { step: 'initialize', name: 'countersignTestCount' },
  );
  return calls;
}

describe('awskms:// references (the grammar cosign accepts)', () => {
  const good: Array<[string, { endpoint?: string; keyId: string; alias?: string; region?: string }]> = [
    [`awskms:///${UUID}`, { keyId: UUID }],
    [`awskms:///${UUID.toUpperCase()}`, { keyId: UUID.toUpperCase() }],
    ['awskms:///mrk-1234abcd12ab34cd56ef1234567890ab', { keyId: 'mrk-1234abcd12ab34cd56ef1234567890ab' }],
    [`awskms://localhost:4566/${UUID}`, { endpoint: 'localhost:4566', keyId: UUID }],
    [`awskms:///${KEY_ARN}`, { keyId: KEY_ARN, region: 'us-east-2' }],
    [`awskms://localhost:4566/${KEY_ARN}`, { endpoint: 'localhost:4566', keyId: KEY_ARN, region: 'us-east-2' }],
    ['awskms:///alias/ExampleAlias', { keyId: 'alias/ExampleAlias', alias: 'alias/ExampleAlias' }],
    ['awskms://127.0.0.1:4566/alias/team/platform_key-1', { endpoint: '127.0.0.1:4566', keyId: 'alias/team/platform_key-1', alias: 'alias/team/platform_key-1' }],
    [`awskms:///${ALIAS_ARN}`, { keyId: ALIAS_ARN, alias: 'alias/ExampleAlias', region: 'us-east-2' }],
    [`awskms://kms.example.com/${ALIAS_ARN}`, { endpoint: 'kms.example.com', keyId: ALIAS_ARN, alias: 'alias/ExampleAlias', region: 'us-east-2' }],
    ['awskms://[::1]:4566/alias/x', { endpoint: '[::1]:4566', keyId: 'alias/x', alias: 'alias/x' }],
    [`awskms:///arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/${UUID}`, { keyId: `arn:aws-us-gov:kms:us-gov-west-1:111122223333:key/${UUID}`, region: 'us-gov-west-1' }],
  ];
  for (const [ref, want] of good) {
    test(`parses ${ref}`, () => {
      const got = parseKmsRef(ref);
      assert.deepEqual(
        { endpoint: got.endpoint, keyId: got.keyId, alias: got.alias, region: got.region },
        { endpoint: want.endpoint, keyId: want.keyId, alias: want.alias, region: want.region },
      );
    });
  }

  const bad: Array<[string, string]> = [
    ['awskms:///missingalias', 'no alias/ prefix'],
    ['awskms:///1234abcd-12ab-YYYY-56ef-1234567890ab', 'not hex'],
    [`awskms://${UUID}`, 'no endpoint needs three slashes'],
    ['awskms:///', 'no key'],
    ['awskms:///alias/', 'empty alias'],
    ['awskms:///alias/has space', 'alias with a space'],
    ['awskms://user@host:1/alias/x', 'userinfo in the endpoint'],
    ['awskms://host:1:2/alias/x', 'two ports'],
    [`awskms:///arn:aws:kms:us-east-2:1111:key/${UUID}`, 'short account id'],
    [`awskms:///arn:aws:s3:us-east-2:111122223333:key/${UUID}`, 'not a kms ARN'],
    ['gcpkms://projects/p/locations/l/keyRings/r/cryptoKeys/k', 'another scheme'],
    ['awskms:/alias/x', 'one slash'],
  ];
  for (const [ref, why] of bad) {
    test(`refuses ${ref} (${why}) with KEY_INVALID`, () => {
      assert.throws(() => parseKmsRef(ref), rejectsWith('KEY_INVALID'));
      assert.throws(() => new KmsSigner(ref, { env: TEST_AWS_ENV }), rejectsWith('KEY_INVALID'));
    });
  }

  test('endpoint: the URI wins over COUNTERSIGN_KMS_ENDPOINT; loopback speaks http, anything else https (as cosign)', () => {
    const env = { COUNTERSIGN_KMS_ENDPOINT: 'http://10.0.0.1:9000' };
    assert.equal(resolveEndpoint(parseKmsRef('awskms://127.0.0.1:4566/alias/x'), env), 'http://127.0.0.1:4566');
    assert.equal(resolveEndpoint(parseKmsRef('awskms://localhost:4566/alias/x'), env), 'http://localhost:4566');
    assert.equal(resolveEndpoint(parseKmsRef('awskms://kms.internal:443/alias/x'), env), 'https://kms.internal:443');
    assert.equal(resolveEndpoint(parseKmsRef('awskms:///alias/x'), env), 'http://10.0.0.1:9000');
    assert.equal(resolveEndpoint(parseKmsRef('awskms:///alias/x'), { COUNTERSIGN_KMS_ENDPOINT: 'kms.internal:8443' }), 'https://kms.internal:8443');
    assert.equal(resolveEndpoint(parseKmsRef('awskms:///alias/x'), {}), undefined, 'AWS regional endpoint');
    assert.throws(() => resolveEndpoint(parseKmsRef('awskms:///alias/x'), { COUNTERSIGN_KMS_ENDPOINT: 'ftp://x' }), rejectsWith('BAD_CONFIG'));
    assert.equal(endpointUrl('[::1]:1'), 'http://[::1]:1');
  });

  test('region: an ARN wins, then AWS_REGION, AWS_DEFAULT_REGION; none at all is BAD_CONFIG for real AWS', () => {
    assert.equal(resolveRegion(parseKmsRef(`awskms:///${KEY_ARN}`), { AWS_REGION: 'eu-west-1' }, undefined), 'us-east-2');
    assert.equal(resolveRegion(parseKmsRef('awskms:///alias/x'), { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'x' }, undefined), 'eu-west-1');
    assert.equal(resolveRegion(parseKmsRef('awskms:///alias/x'), { AWS_DEFAULT_REGION: 'ap-south-1' }, undefined), 'ap-south-1');
    assert.equal(resolveRegion(parseKmsRef('awskms://127.0.0.1:1/alias/x'), {}, 'http://127.0.0.1:1'), 'us-east-1');
    assert.throws(() => resolveRegion(parseKmsRef('awskms:///alias/x'), {}, undefined), rejectsWith('BAD_CONFIG'));
  });

  test('config: a KMS platform key needs no passwordEnv; a malformed KMS reference is a config problem', () => {
    const target = (key: string, extra: Record<string, unknown> = {}) => ({
      repository: 'localhost:5000/apps/hello',
      policy: { sourceRepo: 'https://github.com/acme/hello', builderIds: ['b'] },
      approval: { approvers: ['alice'] },
      keys: { developer: { publicKey: __filename }, platform: { key, publicKey: __filename, ...extra } },
    });
    const approvers = { alice: { publicKey: __filename } };
    const ok = parseConfig({ approvers, targets: { prod: target('awskms:///alias/platform') } }, '/tmp/countersign.yaml');
    assert.equal(ok.targets.prod.keys.platform.key, 'awskms:///alias/platform');
    assert.throws(
      () => parseConfig({ approvers, targets: { prod: target('awskms:///not-a-key') } }, '/tmp/countersign.yaml'),
      (err: unknown) => hasCode(err, 'BAD_CONFIG') && /targets\.prod\.keys\.platform\.key: .*not a key id/.test((err as Error).message),
    );
  });
});

describe('KMS errors: what is retried and what fails at once', () => {
  const sdkError = (name: string, status?: number, fault?: string) =>
    Object.assign(new Error(`${name} happened`), { name, $metadata: { httpStatusCode: status }, $fault: fault });
  const cases: Array<[string, unknown, ErrorCode | 'retry']> = [
    ['throttling', sdkError('ThrottlingException', 400, 'client'), 'retry'],
    ['KMS internal error', sdkError('KMSInternalException', 500, 'server'), 'retry'],
    ['HTTP 503', sdkError('SomethingNew', 503), 'retry'],
    ['HTTP 429', sdkError('SomethingNew', 429), 'retry'],
    ['connection refused', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }), 'retry'],
    ['request timeout', Object.assign(new Error('timed out'), { name: 'TimeoutError' }), 'retry'],
    ['access denied', sdkError('AccessDeniedException', 400, 'client'), 'KMS_ACCESS_DENIED'],
    ['bad credentials', sdkError('UnrecognizedClientException', 400, 'client'), 'KMS_ACCESS_DENIED'],
    ['no credentials', Object.assign(new Error('Could not load credentials'), { name: 'CredentialsProviderError' }), 'KMS_ACCESS_DENIED'],
    ['disabled key', sdkError('DisabledException', 400, 'client'), 'KMS_KEY_DISABLED'],
    ['pending deletion', sdkError('KMSInvalidStateException', 400, 'client'), 'KMS_KEY_DISABLED'],
    ['wrong usage', sdkError('InvalidKeyUsageException', 400, 'client'), 'KMS_WRONG_KEY_SPEC'],
    ['no such key', sdkError('NotFoundException', 400, 'client'), 'KEY_MISSING'],
    ['validation', sdkError('ValidationException', 400, 'client'), 'KEY_INVALID'],
  ];
  for (const [what, err, want] of cases) {
    test(`${what} -> ${want}`, () => {
      const verdict = classifyKmsError(err, 'awskms:///alias/x', 'Sign');
      if (want === 'retry') assert.equal(verdict.retry, true);
      else {
        assert.equal(verdict.retry, false);
        if (!verdict.retry) {
          assert.equal(verdict.error.code, want);
          assert.match(verdict.error.message, /awskms:\/\/\/alias\/x: KMS Sign/);
          if (want !== 'KEY_INVALID') assert.equal(verdict.error.retryable, false);
        }
      }
    });
  }

  test('throttling is retried with growing, jittered backoff inside the signer, then ends in KMS_UNAVAILABLE (retryable)', async () => {
    let calls = 0;
    const waits: number[] = [];
    const throttled = { send: async () => { calls++; throw cases[0][1]; } } as unknown as KMSClient;
    const sleep = async (ms: number) => void waits.push(ms);
    const signer = new KmsSigner('awskms:///alias/x', { client: throttled, maxAttempts: 4, baseDelayMs: 20, maxDelayMs: 50, sleep });
    await assert.rejects(signer.publicKeyPem(), (err: unknown) => {
      assert.ok(hasCode(err, 'KMS_UNAVAILABLE'));
      assert.equal((err as CountersignError).retryable, true);
      assert.match((err as Error).message, /DescribeKey failed 4 time\(s\): ThrottlingException/);
      return true;
    });
    assert.equal(calls, 4);
    // One wait between attempts, each in [cap/2, cap] with cap = min(maxDelay, base * 2^(attempt-1)): 20, 40, then 50.
    assert.equal(waits.length, 3);
    for (const [i, cap] of [20, 40, 50].entries()) assert.ok(waits[i] >= cap / 2 && waits[i] <= cap, `wait ${i + 1} = ${waits[i]} ms, cap ${cap}`);
  });

  test('a throttle that clears is invisible to the caller', async () => {
    let calls = 0;
    const real = { send: async () => ({ KeyMetadata: { Arn: 'arn:x', KeyState: 'Disabled' } }) };
    const flaky = { send: async (c: unknown) => (++calls < 3 ? Promise.reject(cases[0][1]) : real.send()) } as unknown as KMSClient;
    const signer = new KmsSigner('awskms:///alias/x', { client: flaky, sleep: async () => undefined });
    await assert.rejects(signer.publicKeyPem(), rejectsWith('KMS_KEY_DISABLED'));
    assert.equal(calls, 3);
  });
});

describe('KmsSigner on local-kms', { skip: localKmsPath() ? false : 'local-kms not installed (bash scripts/toolchain.sh local-kms)' }, () => {
  let kms: KmsTestServer;
  before(async () => {
    kms = await startLocalKms();
  });
  after(async () => {
    await kms?.close();
  });

  test('signs through KMS (MessageType DIGEST): DER signatures that verify over the data, by every reference form', async () => {
    const key = await createTestKey(kms, { alias: 'platform-roundtrip' });
    const refs = [
      key.ref,
      `awskms://${kms.address}/${key.keyId}`,
      `awskms://${kms.address}/${key.arn}`,
      `awskms://${kms.address}/${key.arn.replace(/key\/.*$/, 'alias/platform-roundtrip')}`,
    ];
    let pem: string | undefined;
    for (const ref of refs) {
      const signer = new KmsSigner(ref, { env: kms.env });
      assert.equal(signer.keyRef, ref);
      const thisPem = await signer.publicKeyPem();
      assert.match(thisPem, /^-----BEGIN PUBLIC KEY-----\n/);
      if (pem) assert.equal(thisPem, pem, `${ref} names the same key`);
      pem = thisPem;
      const data = Buffer.from(`{"critical":{"ref":${JSON.stringify(ref)}}}`);
      const sig = await signer.sign(data);
      assert.equal(sig[0], 0x30, 'ASN.1 DER');
      assert.equal(verifySignature(thisPem, data, sig), true);
      assert.equal(verifySignature(thisPem, Buffer.concat([data, Buffer.from(' ')]), sig), false);
    }
  });

  test('COUNTERSIGN_KMS_ENDPOINT serves a reference without an endpoint', async () => {
    const key = await createTestKey(kms);
    const signer = new KmsSigner(`awskms:///${key.keyId}`, { env: { ...kms.env, COUNTERSIGN_KMS_ENDPOINT: kms.url } });
    const data = Buffer.from('via env endpoint');
    assert.equal(verifySignature(await signer.publicKeyPem(), data, await signer.sign(data)), true);
  });

  test('the key check and public key are fetched once, then cached; each signature is one Sign call', async () => {
    const key = await createTestKey(kms);
    const client = createKmsClient(parseKmsRef(key.ref), kms.env);
    const calls = countCalls(client);
    const signer = new KmsSigner(key.ref, { client });
    const [a, b] = await Promise.all([signer.publicKeyPem(), signer.publicKeyPem()]);
    assert.equal(a, b);
    await signer.sign(Buffer.from('one'));
    await signer.sign(Buffer.from('two'));
    assert.equal(await signer.publicKeyPem(), a);
    assert.deepEqual(calls, ['DescribeKey', 'GetPublicKey', 'Sign', 'Sign']);
  });

  test('a disabled key fails at once with KMS_KEY_DISABLED (before and after the key check)', async () => {
    const disabled = await createTestKey(kms, { disabled: true });
    const client = createKmsClient(parseKmsRef(disabled.ref), kms.env);
    const calls = countCalls(client);
    await assert.rejects(new KmsSigner(disabled.ref, { client }).sign(Buffer.from('x')), (err: unknown) => {
      assert.ok(hasCode(err, 'KMS_KEY_DISABLED'));
      assert.equal((err as CountersignError).retryable, false);
      assert.match((err as Error).message, /is Disabled/);
      return true;
    });
    assert.deepEqual(calls, ['DescribeKey']);

    // Disabled after the signer checked it: Sign itself is refused, and not retried.
    const key = await createTestKey(kms);
    const signer = new KmsSigner(key.ref, { env: kms.env });
    await signer.publicKeyPem();
    const { DisableKeyCommand } = await import('@aws-sdk/client-kms');
    await kms.client.send(new DisableKeyCommand({ KeyId: key.keyId }));
    await assert.rejects(signer.sign(Buffer.from('x')), rejectsWith('KMS_KEY_DISABLED'));
  });

  for (const [keySpec, keyUsage] of [
    ['RSA_2048', 'SIGN_VERIFY'],
    ['ECC_SECG_P256K1', 'SIGN_VERIFY'],
    ['ECC_NIST_P384', 'SIGN_VERIFY'],
    ['SYMMETRIC_DEFAULT', 'ENCRYPT_DECRYPT'],
    ['RSA_2048', 'ENCRYPT_DECRYPT'],
  ] as const) {
    test(`a ${keySpec} ${keyUsage} key fails at once with KMS_WRONG_KEY_SPEC naming the spec`, async () => {
      const key = await createTestKey(kms, { keySpec, keyUsage });
      await assert.rejects(new KmsSigner(key.ref, { env: kms.env }).publicKeyPem(), (err: unknown) => {
        assert.ok(hasCode(err, 'KMS_WRONG_KEY_SPEC'));
        assert.match((err as Error).message, new RegExp(`key spec ${keySpec}.*needs ECC_NIST_P256`));
        return true;
      });
    });
  }

  test('an alias that does not exist is KEY_MISSING, not retried', async () => {
    await assert.rejects(new KmsSigner(`awskms://${kms.address}/alias/no-such-key`, { env: kms.env }).publicKeyPem(), rejectsWith('KEY_MISSING'));
  });

  test('KMS stopped mid-run: KMS_UNAVAILABLE (retryable) after bounded retries; after a restart the same signer works again', async () => {
    const key = await createTestKey(kms);
    const signer = new KmsSigner(key.ref, { env: kms.env, maxAttempts: 3, baseDelayMs: 50 });
    const pem = await signer.publicKeyPem();
    await kms.stop();
    try {
      await assert.rejects(signer.sign(Buffer.from('during the outage')), (err: unknown) => {
        assert.ok(hasCode(err, 'KMS_UNAVAILABLE'));
        assert.equal((err as CountersignError).retryable, true);
        assert.equal((err as CountersignError).details?.attempts, 3);
        return true;
      });
    } finally {
      await kms.restart();
    }
    const data = Buffer.from('after the outage');
    assert.equal(verifySignature(pem, data, await signer.sign(data)), true);
  });

  test('loadSigner opens awskms:// references as KmsSigner; passwordEnv is irrelevant; signers are cached per AWS settings', async () => {
    const key = await createTestKey(kms);
    const a = await loadSigner(key.ref, 'UNSET_PASSWORD_VARIABLE', kms.env);
    const b = await loadSigner(key.ref, undefined, { ...kms.env });
    assert.ok(a instanceof KmsSigner);
    assert.equal(a, b, 'same reference and AWS settings: the cached signer');
    const c = await loadSigner(key.ref, undefined, { ...kms.env, AWS_ACCESS_KEY_ID: 'someone-else' });
    assert.notEqual(c, a);
    const data = Buffer.from('loaded');
    assert.equal(verifySignature(await a.publicKeyPem(), data, await a.sign(data)), true);
    assert.equal(JSON.stringify(a), JSON.stringify({ keyRef: key.ref }), 'only the reference in logs');
  });
});

describe('KmsSigner on moto', { skip: motoPath() ? false : 'moto not installed (bash scripts/toolchain.sh moto)' }, () => {
  let moto: KmsTestServer;
  before(async () => {
    moto = await startMoto();
  });
  after(async () => {
    await moto?.close();
  });

  test('AccessDenied (a key policy denying kms:DescribeKey) fails at once with KMS_ACCESS_DENIED', async () => {
    const policy = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Deny', Principal: '*', Action: ['kms:DescribeKey'], Resource: '*' }],
    });
    const key = await createTestKey(moto, { policy });
    const client = createKmsClient(parseKmsRef(key.ref), moto.env);
    const calls = countCalls(client);
    await assert.rejects(new KmsSigner(key.ref, { client }).publicKeyPem(), (err: unknown) => {
      assert.ok(hasCode(err, 'KMS_ACCESS_DENIED'));
      assert.equal((err as CountersignError).retryable, false);
      assert.match((err as Error).message, /kms:DescribeKey, kms:GetPublicKey and kms:Sign/);
      return true;
    });
    assert.deepEqual(calls, ['DescribeKey'], 'not retried');
  });

  test('disabled and wrong-spec keys are refused on moto too', async () => {
    await assert.rejects(new KmsSigner((await createTestKey(moto, { disabled: true })).ref, { env: moto.env }).publicKeyPem(), rejectsWith('KMS_KEY_DISABLED'));
    const k1 = await createTestKey(moto, { keySpec: 'ECC_SECG_P256K1' });
    await assert.rejects(new KmsSigner(k1.ref, { env: moto.env }).publicKeyPem(), rejectsWith('KMS_WRONG_KEY_SPEC'));
  });

  test('moto stopped mid-run: re-opening the key retries, then KMS_UNAVAILABLE (retryable) naming the operation; moto restarted forgets the key: KEY_MISSING', async () => {
    // moto's Sign is no use here (its signatures never verify), but DescribeKey and GetPublicKey
    // work: the outage shows when the signer opens the key again after its check went stale.
    const key = await createTestKey(moto);
    const client = createKmsClient(parseKmsRef(key.ref), moto.env);
    const calls = countCalls(client);
    const signer = new KmsSigner(key.ref, { client, maxAttempts: 3, baseDelayMs: 50, keyCheckTtlMs: 0 });
    assert.match(await signer.publicKeyPem(), /^-----BEGIN PUBLIC KEY-----\n/);
    assert.deepEqual(calls.splice(0), ['DescribeKey', 'GetPublicKey']);
    await moto.stop();
    try {
      await assert.rejects(signer.publicKeyPem(), (err: unknown) => {
        assert.ok(hasCode(err, 'KMS_UNAVAILABLE'), String(err));
        assert.equal((err as CountersignError).retryable, true);
        assert.deepEqual((err as CountersignError).details, { keyRef: key.ref, operation: 'DescribeKey', attempts: 3 });
        assert.equal((err as Error).message, `KMS_UNAVAILABLE: ${key.ref}: KMS DescribeKey failed 3 time(s): cannot reach KMS (ECONNREFUSED)`);
        return true;
      });
      assert.deepEqual(calls.splice(0), ['DescribeKey', 'DescribeKey', 'DescribeKey'], 'retried, then gave up');
    } finally {
      await moto.restart();
    }
    // moto keeps keys in memory only: after the restart the key is gone, which is not retried.
    await assert.rejects(signer.publicKeyPem(), rejectsWith('KEY_MISSING'));
    assert.deepEqual(calls, ['DescribeKey']);
  });

  test('moto 5.2.5 ignores MessageType DIGEST (it hashes the digest again): the signer refuses its signature', async () => {
    const key = await createTestKey(moto);
    const signer = new KmsSigner(key.ref, { env: moto.env });
    await assert.rejects(signer.sign(Buffer.from('payload')), (err: unknown) => {
      assert.ok(hasCode(err, 'SIGNATURE_INVALID'));
      assert.match((err as Error).message, /MessageType DIGEST/);
      return true;
    });
  });
});

test('an unreachable KMS (a closed port) ends in KMS_UNAVAILABLE after bounded retries', async () => {
  const port = await freePort();
  const signer = new KmsSigner(`awskms://127.0.0.1:${port}/alias/platform`, { env: TEST_AWS_ENV, maxAttempts: 3, baseDelayMs: 50 });
  await assert.rejects(signer.sign(Buffer.from('x')), (err: unknown) => {
    assert.ok(hasCode(err, 'KMS_UNAVAILABLE'), String(err));
    assert.equal((err as CountersignError).retryable, true);
    assert.equal((err as CountersignError).details?.attempts, 3, 'bounded: exactly maxAttempts calls');
    assert.match((err as Error).message, /DescribeKey failed 3 time\(s\): cannot reach KMS \(ECONNREFUSED\)/);
    return true;
  });
});
