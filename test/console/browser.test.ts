/**
 * The approval console in a real browser: Debian's chromium, headless, driven by playwright-core
 * over the Chrome DevTools Protocol, against the real stack (test/console/support.ts). Takes the
 * screenshots in docs/console/.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { launchChromium, screenshotFile, type TestBrowser } from '../support/chromium';
import { COMMIT } from '../support/env';
import { NEXT_COMMIT, useConsoleFixture } from './support';

describe('approval console in chromium, on the real stack', () => {
  let chrome: TestBrowser | undefined;
  let page: Page;
  // Registered before the console fixture's: the open page and its event stream go first.
  after(async () => {
    await chrome?.close();
  });
  const f = useConsoleFixture();
  before(async () => {
    chrome = await launchChromium();
    page = chrome.page;
  });

  it('the waiting list shows the promotion parked at the gate, with its group and no votes yet', async () => {
    await page.goto(`${f.url}/`);
    const row = page.locator(`tr[data-id="${f.parked.promotionId}"]`);
    assert.equal(await row.count(), 1);
    assert.match(await row.innerText(), /approvers: 0 of 2 \(2 missing\)/);
    assert.match(await row.innerText(), /none yet/);
    await page.screenshot({ path: screenshotFile('waiting.png'), fullPage: true });
  });

  it("its evidence page shows the checks, the provenance beside the release's and the SBOM changes; a markup-carrying ref stays text", async () => {
    await page.click(`a[href="/promotions/${f.parked.promotionId}"]`);
    await page.waitForSelector('#pack-digest');
    assert.match(await page.locator('#pack-digest').innerText(), /^sha256:[0-9a-f]{64}$/);
    const checks = await page.locator('#checks tbody tr').allInnerTexts();
    assert.ok(checks.length >= 7, checks.join('\n'));
    assert.ok(checks.every((c) => c.startsWith('✓')), checks.join('\n'));
    assert.equal(await page.locator('tr[data-fact="commit"] td').allInnerTexts().then((t) => t.join(' | ')), `${NEXT_COMMIT} | ${COMMIT}`);
    assert.match(await page.locator('#sbom').innerText(), /file added: \.\/CHANGELOG/);
    // The ref the initiator claimed is on the page as the characters they sent, and none of it ran.
    assert.match(await page.locator('tr[data-fact="ref"] td').first().innerText(), /<script>window.__pwned='script'<\/script><img src=x/);
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __pwned?: string }).__pwned), undefined);
    assert.equal(await page.locator('tr[data-fact="ref"] img, tr[data-fact="ref"] script').count(), 0);
    assert.match(await page.locator('#no-votes').innerText(), /No votes yet/);
    await page.screenshot({ path: screenshotFile('evidence.png'), fullPage: true });
  });

  it('a vote arriving changes the open page', async () => {
    await f.env.decideAs(f.parked.promotionId, 'carol', 'approve', 'checked the SBOM diff');
    // The page reloads itself when its event stream says so; nothing here reloads it.
    const vote = page.locator('tr.vote', { hasText: 'carol' });
    await vote.waitFor({ timeout: 30_000 });
    assert.match(await vote.innerText(), /carol\s+approve\s+checked the SBOM diff/);
    assert.match(await page.locator('#approval .groups').innerText(), /approvers\s+1\s+2/);
    await page.screenshot({ path: screenshotFile('evidence-after-vote.png'), fullPage: true });
  });

  it("while a decision from the open page is on its way, a vote arriving does not reload the page under it (the decision's answer would be lost): the page is marked stale", async () => {
    // What static/passkey.js does while it waits for the passkey and the decision's answer.
    await page.evaluate(() => ((globalThis as unknown as { __sameDocument?: boolean }).__sameDocument = true));
    await page.locator('main').evaluate((main) => main.setAttribute('data-busy', '1'));
    await f.env.decideAs(f.parked.promotionId, 'bob', 'reject', 'not this one');
    await page.locator('main[data-stale]').waitFor({ timeout: 30_000 });
    assert.equal(await page.evaluate(() => (globalThis as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was not reloaded');
  });
});
