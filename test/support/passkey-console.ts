/**
 * The approval console with passkey login, driven in Debian's chromium with the Chrome DevTools
 * Protocol's WebAuthn virtual authenticator (ES256, resident key, user verification): the pieces
 * the passkey browser tests share. The console reads `console:` and the approvers' passkeys from
 * a configuration file, as `countersign console` does; `serve` rewrites that file and restarts it.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Page } from 'playwright-core';
import YAML from 'yaml';
import { loadConsoleConfig } from '../../src/config-console';
import { createConsole } from '../../src/console/server';
import { RegistryStore } from '../../src/oci/registry';
import { launchChromium, type TestBrowser } from './chromium';
import { stablePort } from './stable-port';
import type { TestEnv } from './env';

export interface PasskeyConsole {
  /** http://localhost:<port>: browsers allow WebAuthn over http on localhost only. */
  origin: string;
  /** (Re)starts the console on the same port with this configuration (console: and approvers:). */
  serve(config: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startPasskeyConsole(env: Pick<TestEnv, 'client' | 'dir'>): Promise<PasskeyConsole> {
  // serve() binds the same port again: one from below the ephemeral range (test/support/stable-port.ts).
  const port = await stablePort();
  const origin = `http://localhost:${port}`;
  const file = path.join(env.dir, 'console.yaml');
  let app: FastifyInstance | undefined;
  const close = async () => {
    await app?.close();
    app = undefined;
  };
  const serve = async (config: Record<string, unknown>) => {
    await close();
    await fs.writeFile(file, YAML.stringify(config));
    const loaded = loadConsoleConfig(file);
    app = createConsole({ client: env.client, storeFor: (host) => new RegistryStore(host), watchMs: 200, access: { login: true, rp: loaded.console!, passkeys: loaded.passkeys } });
    await app.listen({ host: '127.0.0.1', port });
  };
  await serve({ console: { origin } });
  return { origin, serve, close };
}

/** Chromium with one page that holds a virtual authenticator: every WebAuthn ceremony on it succeeds with user verification. */
export async function browserWithAuthenticator(): Promise<TestBrowser> {
  const chrome = await launchChromium();
  const page = chrome.page;
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('WebAuthn.enable', { enableUI: false });
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  return chrome;
}

/** Enrols a passkey on the console's /enrol page and returns the roster snippet it prints. */
export async function enrolInBrowser(page: Page, origin: string, approver: string, passkeyName: string): Promise<string> {
  await page.goto(`${origin}/enrol`);
  await page.fill('#approver', approver);
  await page.fill('#passkey-name', passkeyName);
  await page.click('button[type=submit]');
  await page.locator('#snippet').waitFor({ state: 'visible', timeout: 30_000 });
  return page.locator('#snippet').innerText();
}

/** Logs in with the page's passkey and waits for the waiting list. */
export async function logInInBrowser(page: Page, origin: string): Promise<void> {
  await page.goto(`${origin}/login`);
  await page.click('#login');
  await page.waitForURL(`${origin}/`, { timeout: 30_000 });
}

/**
 * What the page says about the approver's own decision, once it says anything but "waiting" (a
 * refusal too, so a failure names it). The page may reload under a read (its own vote moves the
 * run on); the read is then taken again on the page that follows.
 */
export async function pageAnswer(page: Page, timeoutMs = 60_000): Promise<string> {
  const answer = page.locator('#result:not([hidden])').filter({ hasText: /\S/ }).filter({ hasNotText: 'Waiting for your passkey' });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await answer.waitFor({ timeout: Math.max(1, deadline - Date.now()) });
      return await answer.innerText({ timeout: 1_000 });
    } catch (error) {
      if (Date.now() >= deadline) throw new Error(`the page showed no answer to the decision within ${timeoutMs} ms (#result: ${JSON.stringify(await page.locator('#result').allInnerTexts().catch(() => []))})`, { cause: error });
    }
  }
}
