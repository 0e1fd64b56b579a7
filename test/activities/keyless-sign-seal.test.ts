/**
 * Keyless developer signing takes its Fulcio, Rekor, timestamp authority and token endpoint from
 * the sealed plan only. A caller who answers authorize by id with a plan naming their own token
 * endpoint (to collect the worker's client secret) or their own Fulcio, or who edits one field of
 * a genuine sealed plan, gets SEAL_INVALID before the worker sends anything anywhere: the
 * attacker's endpoint (a plain HTTP server counting what reaches it) sees no request, and nothing
 * is written to the image. In the SDK's activity harness, on a real registry.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createPromotionActivities } from '../../activities/promotion';
import { listReferrers } from '../../src/cosign/referrers';
import { jsonBlob } from '../../src/oci/digest';
import { RegistryStore } from '../../src/oci/registry';
import { MEDIA_TYPE } from '../../src/oci/types';
import { PROMOTION_SEALS, type PromotionPlan } from '../../src/promotion/plan';
import { createStatement } from '../../src/provenance/statement';
import type { KeylessPin } from '../../src/sigstore/pin';
import { useRegistryFixture } from '../support/registry-fixture';
import { MOCK_RUN_ID, memoryKeyring, sealedAs, sealedRun, testPlan } from '../support/sealed-plan';

const ROOT_VECTOR = path.join(__dirname, '..', 'vectors', 'sigstore-conformance', 'public-good-trusted-root.json');
const SIGNING_VECTOR = path.join(__dirname, '..', 'vectors', 'sigstore-local', 'signing_config.json');
const REPO = 'keyless/hello';
const SECRET_ENV = 'SIGSTORE_CLIENT_SECRET';

describe('keyless developer signing acts only on the plan the worker sealed', () => {
  const fx = useRegistryFixture({ name: 'keyless-seal' });
  let attacker: http.Server;
  let attackerUrl: string;
  const seen: string[] = [];
  const keyring = memoryKeyring();
  let plan: PromotionPlan;
  let statements: { provenanceDigest: string; sbomDigest: string };

  before(async () => {
    const { store, image, registry } = fx;
    await fx.pushImage(REPO);
    const blobs = ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document'].map((type) => jsonBlob(createStatement(REPO, image.digest, type, {}), MEDIA_TYPE.emptyJson));
    for (const blob of blobs) await store.putBlob(REPO, blob);
    statements = { provenanceDigest: blobs[0].descriptor.digest, sbomDigest: blobs[1].descriptor.digest };
    attacker = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url}`);
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    fx.defer(() => new Promise((resolve) => attacker.close(resolve)));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as { port: number }).port}`;
    const genuine: KeylessPin = {
      trustedRoot: fs.readFileSync(ROOT_VECTOR, 'utf8'),
      trustedRootDigest: 'sha256:root',
      identities: [{ subject: 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main', issuer: 'https://token.acme.internal' }],
      require: { tlog: 1, sct: 0, timestamps: 1, rfc3161: 1 },
      sign: {
        signingConfig: fs.readFileSync(SIGNING_VECTOR, 'utf8'),
        signingConfigDigest: 'sha256:signing',
        identityToken: { tokenUrl: 'https://token.acme.internal/token', clientId: 'countersign-worker', clientSecretEnv: SECRET_ENV },
      },
    };
    plan = testPlan({ repository: `${registry.address}/${REPO}`, digest: image.digest, source: { kind: 'directory', path: fx.dir }, keyless: genuine });
  });

  const activities = () => createPromotionActivities({ storeFor: (host) => new RegistryStore(host), env: { [SECRET_ENV]: 'the-worker-secret' }, seal: () => keyring });
  const attested = () => sealedAs(keyring, PROMOTION_SEALS.attestations, statements);
  const theirs = (p: PromotionPlan): PromotionPlan => {
    const sign = p.keyless!.sign!;
    const config = JSON.parse(sign.signingConfig);
    config.caUrls[0].url = attackerUrl;
    return { ...p, keyless: { ...p.keyless!, sign: { ...sign, signingConfig: JSON.stringify(config), identityToken: { ...sign.identityToken, tokenUrl: `${attackerUrl}/token` } } } };
  };
  const refused = async (run: unknown): Promise<ApplicationFailure> => {
    const err = await new MockActivityEnvironment({ activityType: 'devSign' })
      .run(activities().devSign, run as never, attested())
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, `refused, got ${String(err)}`);
    assert.equal(err.type, 'SEAL_INVALID', err.message);
    assert.equal(err.nonRetryable, true);
    assert.deepEqual(seen, [], "nothing reached the attacker's endpoint");
    assert.deepEqual(await listReferrers(new RegistryStore(fx.registry.address), REPO, fx.image.digest), [], 'nothing was written to the image');
    return err;
  };

  it("an unsealed plan of the caller's making, naming their token endpoint and Fulcio", async () => {
    const err = await refused({ runId: MOCK_RUN_ID, plan: { ...theirs(plan), seal: 'v1.forged' } });
    assert.match(err.message, /^SEAL_INVALID: the promotion plan of test/);
  });

  it('a genuine sealed plan with its token endpoint and Fulcio swapped after sealing', async () => {
    const genuine = sealedRun(keyring, plan);
    await refused({ runId: genuine.runId, plan: { ...theirs(genuine.plan), seal: genuine.plan.seal } });
  });

  it('the same plan sealed by the worker reaches only the hosts it names (its made-up token endpoint does not resolve here: OIDC_TOKEN_UNAVAILABLE, retried)', async () => {
    // The vector's hosts do not resolve here: what matters is that the worker tried them, not the attacker's.
    const err = await new MockActivityEnvironment({ activityType: 'devSign' })
      .run(activities().devSign, sealedRun(keyring, plan), attested())
      .then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, 'OIDC_TOKEN_UNAVAILABLE', err.message);
    assert.match(err.message, /token endpoint https:\/\/token\.acme\.internal\/token/);
    assert.equal(err.nonRetryable, false);
    assert.deepEqual(seen, []);
  });
});
