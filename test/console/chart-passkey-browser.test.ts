/**
 * Chart releases decided with a passkey in a real browser (Debian's chromium with the DevTools
 * WebAuthn virtual authenticator, as test/console/passkey-browser.test.ts), on the real stack:
 * pat enrols, logs in, opens a chart release's evidence page and approves with the passkey; the
 * release reaches RELEASED. The console relays; the chart workflow's gate checks the assertion
 * against the chart target's pinned roster, so it refuses a passkey that roster does not hold and
 * a passkey-signed statement for a promotion replayed onto a chart release.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import YAML from 'yaml';
import { APPROVAL_STATEMENT_TYPE } from '../../src/approval/constants';
import { statementChallenge } from '../../src/approval/passkey-assertion';
import { canonicalStatement } from '../../src/approval/statement';
import { waitForChartRelease } from '../../src/client/chart-releases';
import { getApproval } from '../../src/client/promotions';
import { demoChartTarget, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE } from '../helm/helpers';
import { useTestEnv } from '../support/env';
import { openPage, screenshotFile, type TestBrowser } from '../support/chromium';
import { browserWithAuthenticator, enrolInBrowser, logInInBrowser, pageAnswer, startPasskeyConsole, type PasskeyConsole } from '../support/passkey-console';

type Enrolled = { id: string; publicKey: string; name: string };

describe('chart releases decided with a passkey in chromium: RELEASED; the chart roster and the run are what the workflow checks', () => {
  let chrome: TestBrowser | undefined;
  let page: Page;
  let origin: string;
  let console_: PasskeyConsole | undefined;
  let enrolled: Enrolled;
  // Registered before the environment's: the open page's event stream and the console stop before Temporal's connection closes.
  after(async () => {
    await chrome?.close();
    await console_?.close();
  });
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });

  /** A chart release of the demo chart to a chart target whose approvers are `members`, pat's roster entry `pat`; parked at the gate. */
  async function atGate(target: string, members: string[], pat: Record<string, unknown>): Promise<{ releaseId: string; sha256: string }> {
    env.chartWith(demoChartTarget(env, { approval: { approvers: members, required: 1, deadline: '1h' } }), target, { approvers: { pat }, console: { origin } });
    const started = await releaseChart(env, target);
    const waiting = await waitForChartRelease(env.client, started.releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    return started;
  }

  /** Clicks a button of the decision form on `releaseId`'s page and returns the refusal the page shows. */
  async function decideInPage(releaseId: string, button: '#approve' | '#reject'): Promise<string> {
    await openPage(page, `${origin}/charts/${encodeURIComponent(releaseId)}`);
    await page.fill('#decision-reason', 'chart checked');
    await page.click(button);
    await page.locator('#result.error').waitFor({ timeout: 60_000 });
    return page.locator('#result').innerText();
  }

  before(async () => {
    console_ = await startPasskeyConsole(env);
    origin = console_.origin;
    chrome = await browserWithAuthenticator();
    page = chrome.page;
    const snippet = await enrolInBrowser(page, origin, 'pat', 'laptop');
    enrolled = (YAML.parse(snippet) as { approvers: { pat: { passkeys: Enrolled[] } } }).approvers.pat.passkeys[0];
    // The console knows pat's passkey (so pat can log in); each chart target's roster is the worker's, set per test.
    await console_.serve({ console: { origin }, approvers: { pat: { passkeys: [enrolled] } } });
    await logInInBrowser(page, origin);
  });

  it("approving a chart release with a passkey pinned in the chart target's roster releases it", async () => {
    const { releaseId } = await atGate('charts-passkey', ['pat', 'alice'], { passkeys: [enrolled] });
    await openPage(page, `${origin}/charts/${encodeURIComponent(releaseId)}`);
    assert.equal(await page.locator('#decision').getAttribute('data-base'), `/charts/${encodeURIComponent(releaseId)}`);
    await page.fill('#decision-reason', 'chart checked');
    await page.screenshot({ path: screenshotFile('chart-decide.png'), fullPage: true });
    await page.click('#approve');
    const done = await waitForChartRelease(env.client, releaseId);
    assert.equal(done.state, 'RELEASED', done.error);
    assert.deepEqual(
      done.approval.votes.map((v) => [v.approver, v.decision, v.reason]),
      [['pat', 'approve', 'chart checked']],
    );
    // The open page follows the release (pat's own vote closed the gate); nothing here reloads it.
    // No form once the gate has closed, and pat's answer is still on the page after those reloads.
    await page.locator('dd.state', { hasText: 'RELEASED' }).waitFor({ timeout: 60_000 });
    assert.equal(await page.locator('#decision').count(), 0);
    assert.match(await pageAnswer(page), /^Recorded: /);
  });

  it("refuses a passkey the chart target's roster does not pin, and an approver outside its groups: the workflow decides, the console only relays", async () => {
    // The worker's roster for this chart target pins another credential for pat: the console's (which signs) is not it.
    const otherKey = { ...enrolled, id: `${enrolled.id.slice(0, -4)}AAAA` };
    const [otherCredential, notMember] = await Promise.all([atGate('charts-other-key', ['pat', 'alice'], { passkeys: [otherKey] }), atGate('charts-no-pat', ['alice', 'bob'], { passkeys: [enrolled] })]);
    assert.equal(await decideInPage(otherCredential.releaseId, '#approve'), `APPROVAL_REFUSED: pat's passkey decision does not hold: credential ${enrolled.id.slice(0, 24)} is not one of the approver's roster passkeys`);
    assert.equal(await decideInPage(notMember.releaseId, '#approve'), 'APPROVAL_REFUSED: pat is not in the approver roster');
    for (const id of [otherCredential.releaseId, notMember.releaseId]) {
      const approval = await getApproval(env.client, id);
      assert.equal(approval.state, 'OPEN');
      assert.deepEqual(approval.votes, []);
    }
  });

  it("refuses a passkey-signed statement for a promotion replayed onto a chart release, though it names the chart's run and digest", async () => {
    const { releaseId, sha256 } = await atGate('charts-replay', ['pat', 'alice'], { passkeys: [enrolled] });
    const gate = await getApproval(env.client, releaseId);
    // What the console's /promotions/<id>/statement would have built for pat, signed by pat's passkey in this browser.
    const promotionId = 'promote-prod-0123456789abcdef';
    const statement = canonicalStatement({ _type: APPROVAL_STATEMENT_TYPE, promotionId, runId: gate.subject.runId, digest: `sha256:${sha256}`, decision: 'approve', approver: 'pat', time: new Date().toISOString() });
    const options = { challenge: statementChallenge(statement), rpId: 'localhost', userVerification: 'required', timeout: 120_000, allowCredentials: [{ id: enrolled.id, type: 'public-key' }] };
    await openPage(page, `${origin}/charts/${encodeURIComponent(releaseId)}`);
    const answer = await page.evaluate(
      async ({ statement, options, url }) => {
        // In the page (the project's types have no DOM): the WebAuthn calls passkey.js makes.
        const web = globalThis as unknown as { navigator: { credentials: { get(o: unknown): Promise<{ toJSON(): unknown }> } }; PublicKeyCredential: { parseRequestOptionsFromJSON(o: unknown): unknown } };
        const session = (await (await fetch('/session')).json()) as { csrf: string };
        const credential = await web.navigator.credentials.get({ publicKey: web.PublicKeyCredential.parseRequestOptionsFromJSON(options) });
        const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', 'x-csrf-token': session.csrf }, body: JSON.stringify({ statement, response: credential.toJSON() }) });
        return { status: response.status, body: (await response.json()) as { error: string; message: string } };
      },
      { statement, options, url: `/charts/${encodeURIComponent(releaseId)}/decide` },
    );
    assert.deepEqual(answer, { status: 409, body: { error: 'APPROVAL_REFUSED', message: `APPROVAL_REFUSED: the statement is for ${promotionId}, not ${releaseId}` } });
    assert.deepEqual((await getApproval(env.client, releaseId)).votes, []);
  });
});
