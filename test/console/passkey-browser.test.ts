/**
 * Passkeys end to end in a real browser: Debian's chromium, headless, with the Chrome DevTools
 * Protocol's WebAuthn virtual authenticator (ES256, user verification), against the real stack.
 * An approver enrols (the console prints the roster snippet), the operator adds it to the
 * worker's configuration, the approver logs in, opens the evidence page (provenance and SBOM
 * changes against the release a first promotion made) and approves with the
 * passkey; the promotion reaches PROMOTED and stock cosign verify-attestation shows the
 * passkey-signed decision in the approval record. Takes the screenshots in docs/console/.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import YAML from 'yaml';
import { waitForPromotion } from '../../src/client/promotions';
import { locateTool } from '../../src/stack/tools';
import { APPROVAL_PREDICATE_TYPE } from '../../workflows/approval-messages';
import { buildFacts, COMMIT, copyDir, useTestEnv } from '../support/env';
import { openPage, screenshotFile, type TestBrowser } from '../support/chromium';
import { browserWithAuthenticator, enrolInBrowser, pageAnswer, startPasskeyConsole, type PasskeyConsole } from '../support/passkey-console';
import { NEXT_COMMIT } from './support';

const HELLO = path.resolve(__dirname, '../../examples/hello');
const cosign = locateTool('cosign');

describe('passkeys in chromium: enrol, configure, log in, approve (PROMOTED, verified by cosign), reject with a reason', { skip: cosign ? false : 'cosign not installed (npm run toolchain)' }, () => {
  let chrome: TestBrowser | undefined;
  let page: Page;
  let origin: string;
  let console_: PasskeyConsole | undefined;
  let snippet: string;
  let promotion: { promotionId: string; digest: string; repository: string };
  // Registered before the environment's: the open page's event stream and the console stop before Temporal's connection closes.
  after(async () => {
    await chrome?.close();
    await console_?.close();
  });
  const env = useTestEnv();

  before(async () => {
    console_ = await startPasskeyConsole(env);
    origin = console_.origin;
    chrome = await browserWithAuthenticator();
    page = chrome.page;
  });
  it('enrolling creates an ES256 passkey and prints the roster snippet; it grants nothing', async () => {
    await page.goto(`${origin}/`);
    assert.equal(new URL(page.url()).pathname, '/login', 'no session: the login page');
    snippet = await enrolInBrowser(page, origin, 'pat', 'laptop');
    const parsed = YAML.parse(snippet) as { approvers: { pat: { passkeys: Array<{ id: string; publicKey: string; name: string }> } } };
    assert.match(parsed.approvers.pat.passkeys[0].id, /^[A-Za-z0-9_-]+$/);
    assert.match(parsed.approvers.pat.passkeys[0].publicKey, /^-----BEGIN PUBLIC KEY-----\n/);
    assert.equal(parsed.approvers.pat.passkeys[0].name, 'laptop');
    await page.screenshot({ path: screenshotFile('enrol.png'), fullPage: true });
    // Not in the roster yet: logging in is refused.
    await page.goto(`${origin}/login`);
    await page.click('#login');
    await page.locator('#result.error').waitFor({ timeout: 30_000 });
    assert.match(await page.locator('#result').innerText(), /PASSKEY_REFUSED: this passkey is not in the roster/);
  });

  it("once the operator adds the snippet to the worker's configuration, pat logs in and approves with the passkey; the promotion is PROMOTED", async () => {
    const roster = (YAML.parse(snippet) as { approvers: Record<string, unknown> }).approvers;
    // The operator's edit: the snippet under approvers:, in the worker's configuration and the console's.
    const target = env.targetWith({ repository: `${env.stack.registry.address}/apps/passkey-browser`, console: { origin }, approvers: { ...roster, bob: { publicKey: 'keys/bob.pub' } }, approval: { approvers: ['pat', 'bob'], required: 1 } }, 'passkey-browser');
    await console_!.serve({ console: { origin }, approvers: roster });
    // A release first (bob approves with his file key), so the page has something to compare against.
    const v1 = await copyDir(HELLO, path.join(env.dir, 'passkey-browser-v1'));
    const first = await env.promote({ target, source: { directory: v1 }, build: buildFacts() });
    assert.equal((await waitForPromotion(env.client, first.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' })).state, 'AWAITING_APPROVAL');
    await env.decideAs(first.promotionId, 'bob', 'approve', 'first release');
    assert.equal((await waitForPromotion(env.client, first.promotionId)).state, 'PROMOTED');
    const dir = await copyDir(HELLO, path.join(env.dir, 'passkey-browser'));
    await fs.writeFile(path.join(dir, 'CHANGELOG'), 'v2: a new file\n');
    const started = await env.promote({ target, source: { directory: dir }, build: buildFacts({ commit: NEXT_COMMIT }) });
    const status = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
    promotion = { promotionId: started.promotionId, digest: started.digest, repository: target.repository };

    await page.goto(`${origin}/login`);
    await page.screenshot({ path: screenshotFile('login.png'), fullPage: true });
    await page.click('#login');
    await page.waitForURL(`${origin}/`, { timeout: 30_000 });
    assert.equal(await page.locator(`tr[data-id="${promotion.promotionId}"]`).count(), 1);

    await openPage(page, `${origin}/promotions/${promotion.promotionId}`);
    // What pat decides on: this build's provenance beside the release's, and the SBOM's changes against it.
    assert.equal(await page.locator('tr[data-fact="commit"] td').allInnerTexts().then((t) => t.join(' | ')), `${NEXT_COMMIT} | ${COMMIT}`);
    assert.match(await page.locator('#sbom').innerText(), /file added: \.\/CHANGELOG/);
    await page.fill('#decision-reason', 'checked the evidence pack');
    await page.screenshot({ path: screenshotFile('decide.png'), fullPage: true });
    await page.click('#approve');
    await page.locator('tr.vote', { hasText: 'pat' }).waitFor({ timeout: 60_000 });
    const done = await waitForPromotion(env.client, promotion.promotionId);
    assert.equal(done.state, 'PROMOTED', done.error);
    // The open page reloads itself when the state moves; nothing here reloads it.
    await page.locator('dd.state', { hasText: 'PROMOTED' }).waitFor({ timeout: 60_000 });
    // pat's vote closed the gate and the page has reloaded since: no form, and pat's answer still shown.
    assert.equal(await page.locator('#decision').count(), 0);
    assert.match(await pageAnswer(page), /^Recorded: /);
    await page.screenshot({ path: screenshotFile('approved-with-passkey.png'), fullPage: true });
  });

  it('rejecting in the browser needs a reason; with one, the passkey-signed rejection ends the promotion REJECTED', async () => {
    const dir = await copyDir(HELLO, path.join(env.dir, 'passkey-browser-2'));
    await fs.writeFile(path.join(dir, 'VERSION'), '2\n');
    const started = await env.promote({ target: 'passkey-browser', source: { directory: dir }, build: buildFacts() });
    const status = await waitForPromotion(env.client, started.promotionId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(status.state, 'AWAITING_APPROVAL', status.error);
    await openPage(page, `${origin}/promotions/${started.promotionId}`);
    await page.click('#reject');
    await page.locator('#result.error').waitFor({ timeout: 30_000 });
    assert.equal(await page.locator('#result').innerText(), 'BAD_INPUT: reason: a rejection needs one');
    await page.fill('#decision-reason', 'the SBOM adds a package nobody asked for');
    await page.click('#reject');
    const done = await waitForPromotion(env.client, started.promotionId);
    assert.equal(done.state, 'REJECTED', done.error);
    assert.equal(done.approval.votes[0].reason, 'the SBOM adds a package nobody asked for');
  });

  it('stock cosign verify-attestation shows the passkey-signed decision in the approval record', async () => {
    const ref = `${promotion.repository}@${promotion.digest}`;
    const verified = spawnSync(cosign!, ['verify-attestation', '--key', path.join(env.keysDir, 'platform.pub'), '--type', APPROVAL_PREDICATE_TYPE, ref, '--insecure-ignore-tlog=true', '--allow-http-registry'], { encoding: 'utf8', env: { ...process.env, HOME: env.dir } });
    assert.equal(verified.status, 0, verified.stderr);
    const record = JSON.parse(Buffer.from(JSON.parse(verified.stdout.trim().split('\n')[0]).payload, 'base64').toString('utf8')).predicate;
    const decision = record.decisions.find((d: { approver: string }) => d.approver === 'pat');
    const enrolled = (YAML.parse(snippet) as { approvers: { pat: { passkeys: Array<{ id: string }> } } }).approvers.pat.passkeys[0];
    assert.equal(decision.passkey.credentialId, enrolled.id);
    assert.equal(JSON.parse(decision.statement).reason, 'checked the evidence pack');
    const client = JSON.parse(Buffer.from(decision.passkey.clientDataJSON, 'base64url').toString('utf8'));
    assert.equal(client.type, 'webauthn.get');
    assert.equal(client.origin, origin);
  });
});
