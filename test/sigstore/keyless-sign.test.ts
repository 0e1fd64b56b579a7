/**
 * Keyless signing against the self-hosted Sigstore (real Fulcio, Rekor v2, timestamp authority and
 * the local OIDC issuer): what it signs verifies offline against the stack's trusted root with the
 * certificate's source facts, and each way it can fail has its code, the token never in a message.
 * Skips when the Sigstore services are not installed (bash scripts/toolchain.sh sigstore).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { IN_TOTO_PAYLOAD_TYPE } from '../../src/dsse/envelope';
import { hasCode } from '../../src/errors';
import { fetchIdentityToken } from '../../src/sigstore/identity-token';
import { verifySigstoreBundle } from '../../src/sigstore/keyless';
import { keylessBundleMaker } from '../../src/sigstore/keyless-sign';
import type { KeylessSignPin } from '../../src/sigstore/sign-config';
import { loadTrustedRootFile } from '../../src/sigstore/trusted-root';
import { freePort } from '../../src/stack/ports';
import { githubWorkflowIdentity, githubWorkflowSubject, startOidcIssuer } from '../../src/stack/oidc-issuer';
import { startSigstoreStack, type SigstoreStack } from '../../src/stack/sigstore';
import { locateTool } from '../../src/stack/tools';

const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
const IDENTITY = githubWorkflowIdentity({ repository: 'acme/hello', ref: 'refs/heads/main', sha: COMMIT });
const SECRET_ENV = 'SIGSTORE_TEST_SECRET';
const missing = (['fulcio', 'rekor-server', 'timestamp-server'] as const).filter((t) => !locateTool(t));
const STATEMENT = Buffer.from(JSON.stringify({ _type: 'https://in-toto.io/Statement/v1', subject: [{ name: 'x', digest: { sha256: 'ab'.repeat(32) } }], predicateType: 'https://example.com/p', predicate: {} }));

describe('keyless signing on the self-hosted Sigstore', { skip: missing.length > 0 ? `${missing.join(', ')} not installed (bash scripts/toolchain.sh sigstore)` : false }, () => {
  let stack: SigstoreStack;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  const pin = (identityToken: KeylessSignPin['identityToken'], edit: (config: Record<string, any>) => void = () => undefined): KeylessSignPin => {
    const config = JSON.parse(fs.readFileSync(stack.signingConfigFile, 'utf8'));
    edit(config);
    return { signingConfig: JSON.stringify(config), signingConfigDigest: 'sha256:test', identityToken };
  };
  const credentials = () => ({ tokenUrl: stack.issuer.tokenUrl, clientId: stack.issuer.clientId, clientSecretEnv: SECRET_ENV });

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cs-keyless-sign-'));
    stack = await startSigstoreStack({ rootDir: path.join(dir, 'sigstore'), identity: IDENTITY });
    env = { [SECRET_ENV]: stack.issuer.clientSecret };
  });
  after(async () => {
    await stack?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('a bundle signed with a token from the client-credentials grant verifies offline: certificate, Rekor v2 inclusion proof, RFC 3161 time, source facts', async () => {
    const bundle = await keylessBundleMaker(pin(credentials()), env)(STATEMENT, IN_TOTO_PAYLOAD_TYPE);
    assert.equal(bundle.verificationMaterial.tlogEntries?.[0]?.kindVersion?.kind, 'hashedrekord');
    assert.equal(bundle.verificationMaterial.tlogEntries?.[0]?.kindVersion?.version, '0.0.2');
    const signer = verifySigstoreBundle(bundle, undefined, {
      root: loadTrustedRootFile(stack.trustedRootFile),
      identities: [{ subject: githubWorkflowSubject(IDENTITY), issuer: stack.issuer.url }],
      require: { tlog: 1, sct: 0, timestamps: 1, rfc3161: 1 },
    });
    assert.equal(signer.tlogEntries, 1);
    assert.equal(signer.rfc3161, 1);
    assert.equal(signer.facts?.sourceRepository, 'https://github.com/acme/hello');
    assert.equal(signer.facts?.sourceRepositoryRef, 'refs/heads/main');
    assert.equal(signer.facts?.sourceRepositoryDigest, COMMIT);
    // The same bundle is refused for an identity the policy does not list.
    assert.throws(
      () => verifySigstoreBundle(bundle, undefined, { root: loadTrustedRootFile(stack.trustedRootFile), identities: [{ subject: 'https://github.com/acme/other/.github/workflows/x.yml@refs/heads/main', issuer: stack.issuer.url }], require: { sct: 0, rfc3161: 1 } }),
      (e) => (e as { code?: string }).code === 'IDENTITY_MISMATCH',
    );
  });

  it('a token from a file works; the token sources refuse or wait with their own codes', async () => {
    const tokenFile = path.join(dir, 'token');
    fs.writeFileSync(tokenFile, `${await stack.issuer.mint()}\n`);
    const bundle = await keylessBundleMaker(pin({ file: tokenFile }), env)(STATEMENT, IN_TOTO_PAYLOAD_TYPE);
    assert.ok(bundle.verificationMaterial.certificate);

    await assert.rejects(fetchIdentityToken({ file: path.join(dir, 'absent') }), (e) => hasCode(e, 'OIDC_TOKEN_UNAVAILABLE'));
    fs.writeFileSync(path.join(dir, 'not-a-token'), 'hello');
    await assert.rejects(fetchIdentityToken({ file: path.join(dir, 'not-a-token') }), (e) => hasCode(e, 'OIDC_TOKEN_REFUSED') && /does not hold a JWT/.test((e as Error).message));
    await assert.rejects(fetchIdentityToken(credentials(), {}), (e) => hasCode(e, 'OIDC_TOKEN_REFUSED') && /\$SIGSTORE_TEST_SECRET, which is not set/.test((e as Error).message));
    await assert.rejects(fetchIdentityToken(credentials(), { [SECRET_ENV]: 'wrong' }), (e) => hasCode(e, 'OIDC_TOKEN_REFUSED') && /answered 401/.test((e as Error).message));
    const closed = `http://127.0.0.1:${await freePort()}/token`;
    await assert.rejects(fetchIdentityToken({ ...credentials(), tokenUrl: closed }, env), (e) => hasCode(e, 'OIDC_TOKEN_UNAVAILABLE'));
    // Through the signer, the token source's own error comes out, not sigstore-js's wrapping.
    await assert.rejects(keylessBundleMaker(pin(credentials()), {})(STATEMENT, IN_TOTO_PAYLOAD_TYPE), (e) => hasCode(e, 'OIDC_TOKEN_REFUSED'));
  });

  it('Fulcio refuses a token from an issuer it does not trust (KEYLESS_SIGNING_REFUSED, final), and the token is in no message', async () => {
    const stranger = await startOidcIssuer({ identity: IDENTITY });
    try {
      const token = await stranger.mint();
      const tokenFile = path.join(dir, 'stranger-token');
      fs.writeFileSync(tokenFile, token);
      await assert.rejects(keylessBundleMaker(pin({ file: tokenFile }), env)(STATEMENT, IN_TOTO_PAYLOAD_TYPE), (e) => {
        assert.ok(hasCode(e, 'KEYLESS_SIGNING_REFUSED'), String(e));
        assert.match((e as Error).message, /^KEYLESS_SIGNING_REFUSED: Fulcio refused: \(4\d\d\)/);
        assert.ok(!(e as Error).message.includes(token) && !JSON.stringify((e as { details?: unknown }).details).includes(token));
        assert.equal((e as { retryable?: boolean }).retryable, false);
        return true;
      });
    } finally {
      await stranger.stop();
    }
  });

  it('a Rekor or timestamp authority out of reach is SIGSTORE_UNAVAILABLE, which the activity retries', async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const noRekor = pin(credentials(), (c) => {
      c.rekorTlogUrls[0].url = closed;
    });
    await assert.rejects(keylessBundleMaker(noRekor, env)(STATEMENT, IN_TOTO_PAYLOAD_TYPE), (e) => hasCode(e, 'SIGSTORE_UNAVAILABLE') && /^SIGSTORE_UNAVAILABLE: Rekor /.test((e as Error).message) && (e as { retryable?: boolean }).retryable === true);
    const noTsa = pin(credentials(), (c) => {
      c.tsaUrls[0].url = `${closed}/api/v1/timestamp`;
    });
    await assert.rejects(keylessBundleMaker(noTsa, env)(STATEMENT, IN_TOTO_PAYLOAD_TYPE), (e) => hasCode(e, 'SIGSTORE_UNAVAILABLE') && /the timestamp authority/.test((e as Error).message));
  });
});
