/**
 * A chart release's evidence page in a real browser (Debian's chromium via playwright-core, as
 * test/console/browser.test.ts), on the real stack: a release of the demo chart parked at the gate,
 * reached from the waiting list; the page shows the chart and its digest, its checks, where it was
 * packaged from and who asked, the keys that sign it once approved, the policy in force and the
 * timeline, and follows the release to RELEASED when it is approved. `countersign evidence` prints
 * the same pack. Takes docs/console/chart-evidence.png.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { waitForChartRelease } from '../../src/client/chart-releases';
import { createConsole } from '../../src/console/server';
import { RegistryStore } from '../../src/oci/registry';
import { DEMO_DIR, DEMO_FILE, demoChartTarget, PGP_PASSWORD_ENV, releaseChart, TEST_KEY_PASSPHRASE } from '../helm/helpers';
import { runCli } from '../support/cli';
import { launchChromium, openPage, screenshotFile, type TestBrowser } from '../support/chromium';
import { useTestEnv } from '../support/env';

describe("a chart release's evidence page in chromium, on the real stack", () => {
  let chrome: TestBrowser | undefined;
  let page: Page;
  let url: string;
  let close: (() => Promise<void>) | undefined;
  // Registered before the environment's: the page, then the console, stop while Temporal is up.
  after(async () => {
    await chrome?.close();
    await close?.();
  });
  const env = useTestEnv({ setup: (e) => void (e.workerEnv[PGP_PASSWORD_ENV] = TEST_KEY_PASSPHRASE) });
  let releaseId: string;
  let sha256: string;

  before(async () => {
    env.chartWith(demoChartTarget(env), 'charts');
    const started = await releaseChart(env, 'charts');
    ({ releaseId, sha256 } = started);
    const waiting = await waitForChartRelease(env.client, releaseId, { until: (s) => s.state === 'AWAITING_APPROVAL' });
    assert.equal(waiting.state, 'AWAITING_APPROVAL', waiting.error);
    const app = createConsole({ client: env.client, storeFor: (host) => new RegistryStore(host), watchMs: 200, access: { login: false, passkeys: {} } });
    await app.listen({ host: '127.0.0.1', port: 0 });
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
    close = () => app.close();
    chrome = await launchChromium();
    page = chrome.page;
  });

  it('is linked from the waiting list and shows the chart, its digest, checks, provenance, policy and timeline', async () => {
    await page.goto(`${url}/`);
    const link = page.locator(`tr[data-id="${releaseId}"] a`);
    assert.equal(await link.getAttribute('href'), `/charts/${encodeURIComponent(releaseId)}`);
    await link.click();
    await page.waitForSelector('#pack-digest');
    assert.equal(await page.locator('#chart-file').innerText(), DEMO_FILE);
    assert.equal(await page.locator('#chart-digest').innerText(), `sha256:${sha256}`);
    assert.match(await page.locator('#pack-digest').innerText(), /^sha256:[0-9a-f]{64}$/);
    assert.match(await page.locator('.state').innerText(), /^AWAITING_APPROVAL$/);
    const checks = await page.locator('#checks tbody tr').allInnerTexts();
    assert.deepEqual(checks.map((c) => c.split('\t')[1]), ['chart-yaml', 'name-version', 'sha256']);
    assert.ok(checks.every((c) => c.startsWith('✓')), checks.join('\n'));
    const provenance = await page.locator('#provenance').innerText();
    assert.ok(provenance.includes(DEMO_DIR), provenance);
    assert.match(provenance, new RegExp(`requested by\\s+ci, in a signed start request for sha256:${sha256}`));
    assert.match(provenance, /\.prov signed by\s+OpenPGP key [0-9A-F]{40}/);
    assert.match(provenance, /Nothing is signed before approval/);
    const policy = await page.locator('#policy').innerText();
    assert.match(policy, /policy digest\s+sha256:[0-9a-f]{64}/);
    assert.match(policy, /approvers: 1 of alice, bob/);
    assert.deepEqual(await page.locator('#timeline li strong').allInnerTexts(), ['authorize', 'package', 'approval']);
    assert.match(await page.locator('#approval .groups').innerText(), /approvers\s+0\s+1/);
    await page.screenshot({ path: screenshotFile('chart-evidence.png'), fullPage: true });

    // The terminal prints the same pack, with the same digest.
    const cli = await runCli(['evidence', releaseId, '--json'], { TEMPORAL_ADDRESS: env.stack.temporal.address });
    assert.equal(cli.code, 0, cli.stderr);
    const printed = JSON.parse(cli.stdout) as { digest: string; pack: { chart: { digest: string } } };
    assert.equal(printed.digest, await page.locator('#pack-digest').innerText());
    assert.equal(printed.pack.chart.digest, `sha256:${sha256}`);
    const text = await runCli(['evidence', releaseId], { TEMPORAL_ADDRESS: env.stack.temporal.address });
    assert.match(text.stdout, new RegExp(`^evidence pack ${printed.digest}\\nchart release ${releaseId.replace(/[.]/g, '\\.')} \\(chart target charts\\)\\nchart        ${DEMO_FILE.replace(/[.]/g, '\\.')} sha256:${sha256}`));
  });

  it('follows the release to RELEASED when it is approved: the vote, the signatures\' checks, what was published', async () => {
    await env.decideAs(releaseId, 'alice', 'approve', 'chart checked');
    // The page reloads itself as the release moves on; nothing here reloads it.
    await page.locator('.state', { hasText: 'RELEASED' }).waitFor({ timeout: 60_000 });
    // The open page may reload once more (its cleanup step lands after the state): read the ended
    // release afresh, once nothing changes any more.
    assert.equal((await waitForChartRelease(env.client, releaseId)).state, 'RELEASED');
    await openPage(page, `${url}/charts/${encodeURIComponent(releaseId)}`);
    assert.match(await page.locator('tr.vote', { hasText: 'alice' }).innerText(), /alice\s+approve\s+chart checked/);
    const checks = await page.locator('#checks tbody tr').allInnerTexts();
    assert.ok(checks.length > 3, `the verify step's checks join the package's: ${checks.join('\n')}`);
    assert.match(await page.locator('#published-oci').innerText(), new RegExp(`${env.stack.registry.address}/charts/demo`));
    assert.deepEqual(await page.locator('#timeline li strong').allInnerTexts(), ['authorize', 'package', 'approval', 'sign', 'verify', 'publish', 'cleanup']);
  });

  it('refuses an id that is not a chart release id, and says when there is no such release', async () => {
    const bad = await page.goto(`${url}/charts/${encodeURIComponent('chart-charts/../../etc')}`);
    assert.equal(bad?.status(), 400);
    const missing = await page.goto(`${url}/charts/${encodeURIComponent('chart-charts/demo-9.9.9-0123456789abcdef')}`);
    assert.equal(missing?.status(), 404);
    assert.match(await page.locator('main').innerText(), /no chart release with id "chart-charts\/demo-9\.9\.9-0123456789abcdef"/);
  });
});
