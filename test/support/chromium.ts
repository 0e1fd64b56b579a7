/**
 * Debian's chromium, headless, for the console's browser tests. Launched as a playwright browser
 * server so the test holds the process: closing asks chromium to quit and, if it has not within
 * CLOSE_WAIT_MS, kills it, so a browser that will not quit cannot hold a test file open.
 */
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { requireTool } from '../../src/stack/tools';

const CLOSE_WAIT_MS = 15_000;

export interface TestBrowser {
  browser: Browser;
  page: Page;
  close(): Promise<void>;
}

export async function launchChromium(): Promise<TestBrowser> {
  const server = await chromium.launchServer({ executablePath: requireTool('chromium'), headless: true, args: ['--no-sandbox'] });
  let browser: Browser;
  try {
    browser = await chromium.connect(server.wsEndpoint());
  } catch (err) {
    await server.kill();
    throw err;
  }
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const close = async () => {
    let timer: NodeJS.Timeout | undefined;
    const quit = Promise.allSettled([browser.close(), server.close()]).then(() => 'closed' as const);
    const late = new Promise<'late'>((resolve) => {
      timer = setTimeout(() => resolve('late'), CLOSE_WAIT_MS);
    });
    const outcome = await Promise.race([quit, late]);
    clearTimeout(timer);
    if (outcome === 'late') await server.kill();
  };
  return { browser, page, close };
}

/**
 * Where a browser test saves a screenshot: docs/console/ when COUNTERSIGN_UPDATE_SCREENSHOTS=1
 * (to refresh the pictures the docs show), else a scratch folder, so a test run leaves the
 * checkout as it found it.
 */
export function screenshotFile(name: string): string {
  const dir = process.env.COUNTERSIGN_UPDATE_SCREENSHOTS === '1' ? path.resolve(__dirname, '../../docs/console') : path.join(os.tmpdir(), 'countersign-screenshots');
  mkdirSync(dir, { recursive: true });
  return path.join(dir, name);
}

const INTERRUPTED = /interrupted by another navigation/;

/**
 * Goes to `url` from whatever page is open. The console's pages reload themselves when what they
 * show changes (their event stream says so), and under load such a reload races a navigation the
 * test starts: it can interrupt it, or land just after it and take the page back. So the page
 * first goes to about:blank, which runs no script, again (once the interrupting navigation has
 * loaded) if a reload interrupted that or took the page away from it, and only then to `url`.
 */
export async function openPage(page: Page, url: string): ReturnType<Page['goto']> {
  for (let attempt = 1; ; attempt += 1) {
    let interrupted: unknown;
    try {
      await page.goto('about:blank');
      if (page.url() === 'about:blank') break;
    } catch (err) {
      if (!INTERRUPTED.test(String(err))) throw err;
      interrupted = err;
    }
    if (attempt >= 10) throw interrupted ?? new Error(`the page would not stay on about:blank (it is at ${page.url()})`);
    // The navigation that interrupted this one (a reload, or the page's own earlier goto) is let
    // finish before trying again: retried at once, two of them kept interrupting each other.
    await page.waitForLoadState('load').catch(() => undefined);
  }
  return page.goto(url);
}
