/**
 * The self-hosted Sigstore's OIDC issuer: discovery names itself, its tokens verify against its
 * JWKS (checked with jose, as an OIDC client would) and carry the identity's claims, and its token
 * endpoint gives them only to its client.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { githubWorkflowIdentity, githubWorkflowSubject, startOidcIssuer, type RunningOidcIssuer } from '../../src/stack/oidc-issuer';

const COMMIT = '4f2a9c1e0b7d3a5f6e8c9b0a1d2e3f4a5b6c7d8e';
const IDENTITY = githubWorkflowIdentity({ repository: 'acme/hello', ref: 'refs/heads/main', sha: COMMIT });

describe('the local OIDC issuer', () => {
  let issuer: RunningOidcIssuer;
  before(async () => {
    issuer = await startOidcIssuer({ identity: IDENTITY });
  });
  after(() => issuer?.stop());

  const token = (body: string, headers: Record<string, string> = {}) =>
    fetch(issuer.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body });
  const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

  it('serves discovery naming itself, and tokens that verify against its JWKS with the identity in them', async () => {
    const discovery = (await (await fetch(`${issuer.url}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    assert.equal(discovery.issuer, issuer.url);
    assert.equal(discovery.jwks_uri, `${issuer.url}/jwks`);
    const res = await token(form({ grant_type: 'client_credentials', client_id: issuer.clientId, client_secret: issuer.clientSecret }));
    assert.equal(res.status, 200);
    const answer = (await res.json()) as { id_token: string; token_type: string };
    assert.equal(answer.token_type, 'Bearer');
    const { payload } = await jwtVerify(answer.id_token, createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), { issuer: issuer.url, audience: 'sigstore' });
    assert.equal(payload.sub, 'repo:acme/hello:ref:refs/heads/main');
    assert.equal(payload.sha, COMMIT);
    assert.equal(payload.job_workflow_ref, 'acme/hello/.github/workflows/release.yml@refs/heads/main');
    assert.ok((payload.exp ?? 0) - (payload.iat ?? 0) <= 600);
    assert.equal(githubWorkflowSubject(IDENTITY), 'https://github.com/acme/hello/.github/workflows/release.yml@refs/heads/main');
  });

  it('the token endpoint: the client by Basic auth too; a wrong secret, another grant, an oversized body refused', async () => {
    const basic = Buffer.from(`${issuer.clientId}:${issuer.clientSecret}`).toString('base64');
    assert.equal((await token(form({ grant_type: 'client_credentials' }), { authorization: `Basic ${basic}` })).status, 200);
    assert.equal((await token(form({ grant_type: 'client_credentials', client_id: issuer.clientId, client_secret: 'wrong' }))).status, 401);
    assert.equal((await token(form({ grant_type: 'client_credentials', client_id: 'someone-else', client_secret: issuer.clientSecret }))).status, 401);
    assert.equal((await token(form({ grant_type: 'password', client_id: issuer.clientId, client_secret: issuer.clientSecret }))).status, 400);
    const big = await token(form({ grant_type: 'client_credentials', padding: 'x'.repeat(20_000) })).catch((e: unknown) => e);
    assert.ok(big instanceof Error || (big as Response).status === 413, 'an oversized request is cut off');
  });

  it('setIdentity changes who the next tokens name', async () => {
    issuer.setIdentity(githubWorkflowIdentity({ repository: 'acme/other', ref: 'refs/tags/v1.0.0', sha: COMMIT }));
    const { payload } = await jwtVerify(await issuer.mint(), createRemoteJWKSet(new URL(`${issuer.url}/jwks`)), { issuer: issuer.url });
    assert.equal(payload.repository, 'acme/other');
    assert.equal(payload.ref, 'refs/tags/v1.0.0');
  });
});
