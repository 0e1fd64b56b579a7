/**
 * The console's login, sessions and CSRF guard, over HTTP against a real Temporal (the pages a
 * session opens read it). Credentials are real ES256 keys in a software authenticator
 * (test/support/software-authenticator.ts), so every assertion is one a security key could make.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { PasskeyConfig } from '../../src/approval/passkey-config';
import { createConsole } from '../../src/console/server';
import { RegistryStore } from '../../src/oci/registry';
import { useTestEnv } from '../support/env';
import { assert as signAssertion, FLAG_UP, newCredential, register, type SoftwareCredential } from '../support/software-authenticator';

const RP = { origin: 'https://console.acme.test', rpId: 'console.acme.test' };
const passkey = (c: SoftwareCredential): PasskeyConfig => ({ id: c.id, publicKeyPem: c.publicKeyPem, source: 'inline', ...RP });

describe('console login, sessions and CSRF', () => {
  // Registered before the environment's, so the console closes while Temporal is up.
  after(() => app?.close());
  const env = useTestEnv({ worker: false });
  const alice = newCredential();
  const stranger = newCredential();
  let app: FastifyInstance;
  before(() => {
    app = createConsole({ client: env.client, storeFor: (host) => new RegistryStore(host), access: { login: true, rp: RP, passkeys: { alice: [passkey(alice)] } } });
  });

  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url, payload: payload as object, headers: { origin: RP.origin, ...headers } });
  async function challenge(url = '/login/options'): Promise<string> {
    const res = await post(url, {});
    assert.equal(res.statusCode, 200, res.body);
    return res.json().challenge;
  }
  async function login(credential: SoftwareCredential, opts: Partial<{ origin: string; rpId: string; flags: number }> = {}) {
    const response = signAssertion(credential, { challenge: await challenge(), origin: opts.origin ?? RP.origin, rpId: opts.rpId ?? RP.rpId, ...(opts.flags !== undefined ? { flags: opts.flags } : {}) });
    return { response, res: await post('/login', { response }) };
  }
  function cookieOf(res: { headers: Record<string, unknown> }): string {
    return String(res.headers['set-cookie']).split(';')[0];
  }

  it('without a session, a page redirects to the login page and data answers 401', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    assert.equal(page.statusCode, 303);
    assert.equal(page.headers.location, '/login');
    const data = await app.inject({ method: 'GET', url: '/promotions/promote-prod-0123456789abcdef/evidence.json' });
    assert.equal(data.statusCode, 401);
    const events = await app.inject({ method: 'GET', url: '/events' });
    assert.equal(events.statusCode, 401);
    const login = await app.inject({ method: 'GET', url: '/login' });
    assert.equal(login.statusCode, 200);
    assert.match(login.body, /Log in with a passkey/);
  });

  it("a roster passkey's assertion opens a session: HttpOnly, SameSite=Strict, Secure on https; the session reads the console", async () => {
    const { res } = await login(alice);
    assert.equal(res.statusCode, 200, res.body);
    assert.deepEqual(res.json(), { approver: 'alice' });
    const setCookie = String(res.headers['set-cookie']);
    assert.match(setCookie, /^__Host-countersign-session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    const page = await app.inject({ method: 'GET', url: '/', headers: { cookie: cookieOf(res) } });
    assert.equal(page.statusCode, 200, page.body);
    assert.match(page.body, /Waiting for approval/);
    const session = await app.inject({ method: 'GET', url: '/session', headers: { cookie: cookieOf(res) } });
    assert.equal(session.json().approver, 'alice');
    assert.match(session.json().csrf, /^[A-Za-z0-9_-]{43}$/);
  });

  it('a passkey not in the roster is refused and opens no session', async () => {
    const { res } = await login(stranger);
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /^PASSKEY_REFUSED: this passkey is not in the roster/);
    assert.equal(res.headers['set-cookie'], undefined);
  });

  it('a replayed login (the same signed answer again) is refused: each challenge is good once', async () => {
    const { response, res } = await login(alice);
    assert.equal(res.statusCode, 200);
    const again = await post('/login', { response });
    assert.equal(again.statusCode, 403);
    assert.match(again.json().message, /answers no challenge this console issued \(or one already used or expired\)/);
  });

  it('a login over a challenge the console never issued is refused', async () => {
    const response = signAssertion(alice, { challenge: Buffer.from('chosen by the caller').toString('base64url'), origin: RP.origin, rpId: RP.rpId });
    const res = await post('/login', { response });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /answers no challenge this console issued/);
  });

  it("an assertion made at another origin, for another relying party, or without user verification does not log in", async () => {
    for (const [what, opts, expected] of [
      ['origin', { origin: 'https://evil.test' }, /Unexpected authentication response origin/],
      ['rp id', { rpId: 'evil.test' }, /Unexpected RP ID hash/],
      ['no UV', { flags: FLAG_UP }, /User verification required/],
    ] as const) {
      const { res } = await login(alice, opts);
      assert.equal(res.statusCode, 403, what);
      assert.match(res.json().message, expected, what);
    }
  });

  it('a POST from another origin is refused before anything else, with or without a session', async () => {
    const res = await post('/login/options', {}, { origin: 'https://evil.test' });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /^CSRF_REFUSED: a request from origin "https:\/\/evil.test", not https:\/\/console.acme.test/);
    const none = await app.inject({ method: 'POST', url: '/login/options', payload: {} });
    assert.equal(none.statusCode, 403);
  });

  it("a state-changing POST with a session needs the session's CSRF token: absent or forged is refused", async () => {
    const { res } = await login(alice);
    const cookie = cookieOf(res);
    const csrf = (await app.inject({ method: 'GET', url: '/session', headers: { cookie } })).json().csrf as string;
    const absent = await post('/logout', {}, { cookie });
    assert.equal(absent.statusCode, 403);
    assert.match(absent.json().message, /CSRF_REFUSED: the request does not carry this session's CSRF token/);
    const forged = await post('/logout', {}, { cookie, 'x-csrf-token': `${csrf.slice(0, -1)}${csrf.endsWith('A') ? 'B' : 'A'}` });
    assert.equal(forged.statusCode, 403);
    // Another session's token is not this one's.
    const other = await login(alice);
    const otherCsrf = (await app.inject({ method: 'GET', url: '/session', headers: { cookie: cookieOf(other.res) } })).json().csrf as string;
    assert.equal((await post('/logout', {}, { cookie, 'x-csrf-token': otherCsrf })).statusCode, 403);
    const ok = await post('/logout', {}, { cookie, 'x-csrf-token': csrf });
    assert.equal(ok.statusCode, 200);
    assert.equal((await app.inject({ method: 'GET', url: '/', headers: { cookie } })).statusCode, 303, 'logged out');
  });

  it("a session relays its own approver's decisions only, and a decision POST needs the CSRF token", async () => {
    const { res } = await login(alice);
    const cookie = cookieOf(res);
    const csrf = (await app.inject({ method: 'GET', url: '/session', headers: { cookie } })).json().csrf as string;
    const body = { statement: JSON.stringify({ approver: 'bob' }), response: { id: alice.id, response: { signature: 'AA', authenticatorData: 'AA', clientDataJSON: 'AA' } } };
    const url = '/promotions/promote-prod-0123456789abcdef/decide';
    assert.equal((await post(url, body, { cookie })).statusCode, 403, 'no CSRF token');
    const relayed = await post(url, body, { cookie, 'x-csrf-token': csrf });
    assert.equal(relayed.statusCode, 409);
    assert.equal(relayed.json().message, "APPROVAL_REFUSED: this session is alice's; the statement names bob");
    // The statement to sign: a rejection needs a reason, and a reason has the CLI's limit.
    const statementUrl = '/promotions/promote-prod-0123456789abcdef/statement';
    const reject = await post(statementUrl, { decision: 'reject' }, { cookie, 'x-csrf-token': csrf });
    assert.equal(reject.statusCode, 400);
    assert.equal(reject.json().message, 'BAD_INPUT: reason: a rejection needs one');
    const long = await post(statementUrl, { decision: 'approve', reason: 'x'.repeat(2049) }, { cookie, 'x-csrf-token': csrf });
    assert.equal(long.json().message, 'BAD_INPUT: reason: 2049 characters; at most 2048');
  });

  it("a chart release's decision routes hold the same rules, and each kind's routes take only its own ids", async () => {
    const { res } = await login(alice);
    const cookie = cookieOf(res);
    const csrf = (await app.inject({ method: 'GET', url: '/session', headers: { cookie } })).json().csrf as string;
    const chart = encodeURIComponent('chart-charts/demo-1.2.3-0123456789abcdef');
    const body = { statement: JSON.stringify({ approver: 'bob' }), response: { id: alice.id, response: { signature: 'AA', authenticatorData: 'AA', clientDataJSON: 'AA' } } };
    assert.equal((await post(`/charts/${chart}/decide`, body, { cookie })).statusCode, 403, 'no CSRF token');
    const relayed = await post(`/charts/${chart}/decide`, body, { cookie, 'x-csrf-token': csrf });
    assert.equal(relayed.statusCode, 409);
    assert.equal(relayed.json().message, "APPROVAL_REFUSED: this session is alice's; the statement names bob");
    const reject = await post(`/charts/${chart}/statement`, { decision: 'reject' }, { cookie, 'x-csrf-token': csrf });
    assert.equal(reject.json().message, 'BAD_INPUT: reason: a rejection needs one');
    const promotionOnChart = await post('/charts/promote-prod-0123456789abcdef/statement', { decision: 'approve' }, { cookie, 'x-csrf-token': csrf });
    assert.equal(promotionOnChart.statusCode, 400);
    assert.match(promotionOnChart.json().message, /^BAD_INPUT: "promote-prod-0123456789abcdef" is not a chart release id/);
    const chartOnPromotion = await post(`/promotions/${chart}/decide`, body, { cookie, 'x-csrf-token': csrf });
    assert.equal(chartOnPromotion.statusCode, 400);
    assert.match(chartOnPromotion.json().message, /^BAD_INPUT: "chart-charts\/demo-1\.2\.3-0123456789abcdef" is not a promotion id/);
  });

  it('a POST without a session is 401', async () => {
    const res = await post('/logout', {});
    assert.equal(res.statusCode, 401);
  });

  it('enrolment verifies the new credential and prints the roster snippet; it grants nothing', async () => {
    const options = (await post('/enrol/options', { approver: 'bob', name: 'YubiKey 5C' })).json();
    assert.deepEqual(options.pubKeyCredParams, [{ alg: -7, type: 'public-key' }]);
    assert.equal(options.rp.id, RP.rpId);
    const bob = newCredential();
    const res = await post('/enrol', { response: register(bob, { challenge: options.challenge, origin: RP.origin, rpId: RP.rpId }) });
    assert.equal(res.statusCode, 200, res.body);
    const answer = res.json();
    assert.equal(answer.id, bob.id);
    assert.match(answer.snippet, new RegExp(`^approvers:\\n  bob:\\n    passkeys:\\n      - id: ${bob.id}\\n        publicKey: \\|\\n          -----BEGIN PUBLIC KEY-----\\n`));
    assert.ok(answer.snippet.includes(bob.publicKeyPem.split('\n')[1]), 'the snippet carries the credential key');
    assert.match(answer.snippet, /name: YubiKey 5C/);
    const { res: loginRes } = await login(bob);
    assert.equal(loginRes.statusCode, 403, 'enrolled, not in the roster: still no login');
    const replay = await post('/enrol', { response: register(bob, { challenge: options.challenge, origin: RP.origin, rpId: RP.rpId }) });
    assert.equal(replay.statusCode, 403, 'the enrolment challenge is single-use too');
  });

  it('enrolment at another origin is refused', async () => {
    const options = (await post('/enrol/options', { approver: 'bob' })).json();
    const res = await post('/enrol', { response: register(newCredential(), { challenge: options.challenge, origin: 'https://evil.test', rpId: RP.rpId }) });
    assert.equal(res.statusCode, 403);
    assert.match(res.json().message, /PASSKEY_REFUSED: the enrolment does not verify: Unexpected registration response origin/);
  });
});
