/**
 * A keyless promotion end to end on the self-hosted Sigstore (src/stack/sigstore.ts: the local
 * OIDC issuer, Fulcio, Rekor v2 and the timestamp authority, as the toolchain builds them), on a
 * real Temporal dev server and registry: the worker signs the build keyless with the identity its
 * configuration's token source gives, platform verify passes on the target's keyless identity
 * policy, and stock cosign v3 verifies the image with --trusted-root and --certificate-identity.
 * Skips when the Sigstore services or cosign are not installed (bash scripts/toolchain.sh sigstore cosign).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { waitForPromotion } from '../../src/client/promotions';
import { TERMINAL_STATES, type PromotionStatus } from '../../workflows/promotion-messages';
import { verifyImageSignatures } from '../../src/cosign/image-signatures';
import { githubWorkflowIdentity, githubWorkflowSubject } from '../../src/stack/oidc-issuer';
import { startSigstoreStack, type SigstoreStack } from '../../src/stack/sigstore';
import { locateTool } from '../../src/stack/tools';
import { runCosign } from '../vectors/cosign-bundle/produce';
import { buildFacts, COMMIT, useTestEnv } from '../support/env';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const REPOSITORY = 'acme/hello';
const IDENTITY = githubWorkflowIdentity({ repository: REPOSITORY, ref: 'refs/heads/main', sha: COMMIT });
const SUBJECT = githubWorkflowSubject(IDENTITY);
const SECRET_ENV = 'COUNTERSIGN_TEST_SIGSTORE_CLIENT_SECRET';
const cosign = locateTool('cosign');
const atGateOrEnded = (s: PromotionStatus) => ['AWAITING_APPROVAL', ...TERMINAL_STATES].includes(s.state);
const missing = (['fulcio', 'rekor-server', 'timestamp-server'] as const).filter((t) => !locateTool(t));
const skip = missing.length > 0 ? `${missing.join(', ')} not installed (bash scripts/toolchain.sh sigstore)` : !cosign ? 'cosign not installed' : false;

describe('keyless promotion on the self-hosted Sigstore', { skip }, () => {
  let sigstore: SigstoreStack;
  const env = useTestEnv({
    setup: async (e) => {
      sigstore = await startSigstoreStack({ rootDir: path.join(e.dir, 'sigstore'), identity: IDENTITY });
      e.workerEnv[SECRET_ENV] = sigstore.issuer.clientSecret;
    },
  });
  const keylessTarget = (name: string, identities: Array<Record<string, string>>) =>
    env.targetWith(
      {
        repository: `${env.stack.registry.address}/apps/${name}`,
        signatureFormat: 'bundle',
        // No developer private key: the build can only be signed keyless.
        keys: { developer: { key: undefined } },
        keyless: {
          trustedRoot: sigstore.trustedRootFile,
          identities,
          // Rekor v2 entries carry no time (the timestamp authority's counts); no CT log runs here.
          require: { tlog: 1, sct: 0, timestamps: 1, rfc3161: 1 },
          sign: {
            signingConfig: sigstore.signingConfigFile,
            identityToken: { clientCredentials: { tokenUrl: sigstore.issuer.tokenUrl, clientId: sigstore.issuer.clientId, clientSecretEnv: SECRET_ENV } },
          },
        },
      },
      name,
    );
  const cosignVerify = (args: string[]) => runCosign(cosign!, [...args, '--trusted-root', sigstore.trustedRootFile, '--insecure-ignore-sct', '--allow-http-registry'], env.dir);

  after(() => sigstore?.stop());

  it('signs the build keyless, passes platform verify on the keyless identity, and stock cosign verifies it by identity', async () => {
    const target = keylessTarget('keyless', [{ subject: SUBJECT, issuer: sigstore.issuer.url }]);
    const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
    const waiting = await waitForPromotion(env.client, started.promotionId, { until: atGateOrEnded });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', `${waiting.error ?? ''} ${JSON.stringify(waiting.checks.filter((c) => !c.ok))}`);
    assert.match(waiting.timeline.find((s) => s.step === 'dev-sign')?.detail ?? '', /^keyless \(Fulcio certificate\)$/);
    const check = (name: string) => waiting.checks.find((c) => c.name === name);
    for (const name of ['developerSignature', 'provenanceAttestation', 'sbomAttestation']) {
      assert.equal(check(name)?.ok, true, name);
      assert.match(check(name)?.message ?? '', new RegExp(`keyless, by ${SUBJECT.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} from http://127\\.0\\.0\\.1:\\d+ \\(bundle\\)`));
    }
    for (const name of ['keylessSource.repository', 'keylessSource.commit']) assert.equal(check(name)?.ok, true, `${name}: ${JSON.stringify(waiting.checks)}`);
    // The developer key signed nothing: the only developer evidence is the certificate's.
    const devPem = await fs.readFile(path.join(env.keysDir, 'dev.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/keyless', started.digest, devPem)).valid, 0);

    await env.decideAs(started.promotionId, 'alice', 'approve', 'keyless build checked');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);

    const ref = `${env.stack.registry.address}/apps/keyless@${started.digest}`;
    const verified = await cosignVerify(['verify', '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', sigstore.issuer.url, ref]);
    assert.equal(verified.code, 0, verified.stderr);
    const attested = await cosignVerify(['verify-attestation', '--type', 'slsaprovenance1', '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', sigstore.issuer.url, ref]);
    assert.equal(attested.code, 0, attested.stderr);
    // The production signature is the platform key's, as before.
    const prod = await runCosign(cosign!, ['verify', '--key', path.join(env.keysDir, 'platform.pub'), '--insecure-ignore-tlog', '--allow-http-registry', ref], env.dir);
    assert.equal(prod.code, 0, prod.stderr);

    // Stock cosign refuses another identity, another issuer, and another Sigstore's root.
    const otherSubject = await cosignVerify(['verify', '--certificate-identity', SUBJECT.replace('release.yml', 'hotfix.yml'), '--certificate-oidc-issuer', sigstore.issuer.url, ref]);
    assert.notEqual(otherSubject.code, 0);
    assert.match(otherSubject.stderr, /none of the expected identities matched|expected identity not found|certificate identity/i);
    const otherIssuer = await cosignVerify(['verify', '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', 'https://token.actions.githubusercontent.com', ref]);
    assert.notEqual(otherIssuer.code, 0);
  });

  it('a target that trusts another identity refuses the certificate the worker got (IDENTITY_MISMATCH), and nothing is production-signed', async () => {
    const hotfix = SUBJECT.replace('release.yml', 'hotfix.yml');
    const target = keylessTarget('keyless-hotfix-only', [{ subject: hotfix, issuer: sigstore.issuer.url }]);
    const started = await env.promote({ target, source: { directory: HELLO }, build: buildFacts() });
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED', done.error);
    // The status carries each check as the sealed report has it, its code included.
    const signature = done.checks.find((c) => c.name === 'developerSignature') as { ok: boolean; message: string; code?: string } | undefined;
    assert.equal(signature?.ok, false);
    assert.equal(signature?.code, 'IDENTITY_MISMATCH', signature?.message);
    assert.ok(!done.timeline.some((s) => s.step === 'approval'), 'no approval is asked');
    const platformPem = await fs.readFile(path.join(env.keysDir, 'platform.pub'), 'utf8');
    assert.equal((await verifyImageSignatures(env.store, 'apps/keyless-hotfix-only', started.digest, platformPem)).valid, 0);
    // What the worker signed is there and genuine: stock cosign verifies it by the identity it has, not the target's.
    const ref = `${env.stack.registry.address}/apps/keyless-hotfix-only@${started.digest}`;
    assert.equal((await cosignVerify(['verify', '--certificate-identity', SUBJECT, '--certificate-oidc-issuer', sigstore.issuer.url, ref])).code, 0);
    assert.notEqual((await cosignVerify(['verify', '--certificate-identity', hotfix, '--certificate-oidc-issuer', sigstore.issuer.url, ref])).code, 0);
  });
});
