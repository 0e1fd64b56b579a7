import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { keyFingerprint } from '../../src/keys/public-key';
import { RegistryStore } from '../../src/oci/registry';
import { buildImageFromDirectory } from '../../src/oci/build';
import { buildAndPush, createAttestations, developerSign, verifyForPlatform } from '../../src/promotion/steps';
import { emptyIndex, transition, writeIndex, type TrustIndex } from '../../src/trust/index-file';
import { FIXTURE_KEY_PASSWORD, useRegistryFixture } from '../support/registry-fixture';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const FACTS = { sourceRepo: 'https://github.com/acme/hello', commit: 'abcdef0123456789abcdef0123456789abcdef01', buildCommand: 'build', builderId: 'https://b/1' };
const POLICY = { sourceRepo: FACTS.sourceRepo, builderIds: [FACTS.builderId], requireCommit: true };

describe('platform verify honours the trust index for the developer key', () => {
  const fx = useRegistryFixture({ name: 'trust-verify', keys: ['dev'] });
  let dir: string;
  let devPem: string;
  let location: { repository: string; digest: string };
  let deps: { storeFor: () => RegistryStore; env: NodeJS.ProcessEnv };
  let index: TrustIndex;

  before(async () => {
    const { registry } = fx;
    dir = fx.dir;
    const store = new RegistryStore(registry.address);
    deps = { storeFor: () => store, env: { PW: FIXTURE_KEY_PASSWORD } };
    devPem = fx.key('dev').publicKeyPem;
    const image = await buildImageFromDirectory(HELLO);
    location = { repository: `${registry.address}/apps/hello`, digest: image.digest };
    await buildAndPush(deps, HELLO, location);
    const s = await createAttestations(deps, HELLO, location, { ...FACTS, invocationId: 'i', startedOn: '2026-11-21T00:00:00Z', finishedOn: '2026-11-21T00:00:01Z' });
    await developerSign(deps, location, { ref: fx.key('dev').privateKeyPath, passwordEnv: 'PW' }, [s.provenanceDigest, s.sbomDigest]);
    const now = new Date().toISOString();
    index = emptyIndex();
    index.keys.push({ id: 'cosign-dev', kind: 'cosign', fingerprint: keyFingerprint(devPem), file: 'pubkey-dev.pem', created: now, validFrom: now, validUntil: null, status: 'active', reason: 'test', statusChangedAt: now });
    await fs.mkdir(path.join(dir, 'trust'));
    await fs.writeFile(path.join(dir, 'trust', 'pubkey-dev.pem'), devPem);
  });

  const verify = () => verifyForPlatform(deps, location, devPem, POLICY, FACTS.commit, { publishDir: path.join(dir, 'trust'), keyId: 'cosign-dev' });

  it('passes while the key is active', async () => {
    await writeIndex(path.join(dir, 'trust'), index);
    const report = await verify();
    assert.equal(report.ok, true, JSON.stringify(report.checks));
    assert.equal(report.checks.find((c) => c.name === 'developerKeyTrust')?.ok, true);
  });

  it('fails once the key is revoked, naming the revocation', async () => {
    await writeIndex(path.join(dir, 'trust'), transition(index, 'cosign-dev', 'revoked', 'laptop stolen', new Date()));
    const report = await verify();
    assert.equal(report.ok, false);
    const check = report.checks.find((c) => c.name === 'developerKeyTrust');
    assert.equal(check?.code, 'KEY_REVOKED');
    assert.match(check!.message, /laptop stolen/);
    assert.ok(report.checks.filter((c) => c.name !== 'developerKeyTrust').every((c) => c.ok), 'the signatures themselves still verify');
  });

  it('fails for a key that left the index', async () => {
    await writeIndex(path.join(dir, 'trust'), { ...index, keys: [] });
    assert.equal((await verify()).checks.find((c) => c.name === 'developerKeyTrust')?.code, 'KEY_UNKNOWN');
  });
});
