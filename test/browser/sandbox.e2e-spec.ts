import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM_PATH, hasChromium, launchChromium } from './chromium.js';
import { type RunningSandbox, startSandbox } from './sandbox-process.js';

/*
 * `npm run sandbox` driven by real headless Chromium: the consent page, the demo page, the
 * cookie rules of a real browser. SANDBOX_SCREENSHOTS=docs refreshes docs/sandbox-*.png.
 */
if (!hasChromium) {
  console.warn(`test/browser skipped: ${CHROMIUM_PATH} is missing (apt-get install -y chromium; .ci/run installs it).`);
}

const screenshotDir = process.env.SANDBOX_SCREENSHOTS;

async function shot(page: Page, name: string): Promise<void> {
  if (!screenshotDir) return;
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, name) });
}

const waitForText = (page: Page, selector: string, text: string | RegExp) =>
  page.locator(selector, { hasText: text }).waitFor({ timeout: 30_000 });

describe.skipIf(!hasChromium)('npm run sandbox in headless Chromium', () => {
  let sandbox: RunningSandbox;
  let dataDir: string;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'jc-sandbox-'));
    sandbox = await startSandbox(dataDir);
  }, 150_000);
  afterAll(async () => {
    await sandbox?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  /** A fresh browser and page; a failure shows what the sandbox printed. */
  async function inBrowser(steps: (page: Page) => Promise<void>): Promise<void> {
    const browser = await launchChromium();
    try {
      await steps(await browser.context.newPage());
    } catch (err) {
      throw new Error(`${(err as Error).message}\n--- sandbox output ---\n${sandbox.output().slice(-4000)}`);
    } finally {
      await browser.close();
    }
  }

  it('consent, site choice, connected, verify and disconnect on the demo page', () => inBrowser(async (page) => {
    await page.goto(sandbox.url);
    await waitForText(page, '#status', /^not_connected$/);
    expect(new URL(page.url()).hash).toBe(''); // the token left the address bar

    await page.click('#connect');
    await page.waitForURL((u) => u.pathname === '/authorize', { timeout: 30_000 });
    expect(await page.textContent('#sites')).toMatch(/Acme\b.*Acme Labs/s);
    expect(await page.textContent('body')).toContain('alice@example.com');
    await shot(page, 'sandbox-consent.png');

    await page.click('#accept');
    await page.waitForURL((u) => u.pathname === '/sandbox/' && u.searchParams.get('jira') === 'pending_site_selection', { timeout: 30_000 });
    await waitForText(page, '#status', /^pending_site_selection$/);
    expect(await page.locator('button.site').count()).toBe(2);
    await shot(page, 'sandbox-site-choice.png');

    await page.click('button.site:has-text("Acme Labs")');
    await waitForText(page, '#status', /^connected$/);
    expect(await page.textContent('#site')).toContain('https://acme-labs.atlassian.net');

    await page.click('#verify');
    await waitForText(page, '#response', /"verification": \{\s*"ok": true/);
    await shot(page, 'sandbox-demo.png');

    await page.click('#disconnect');
    await waitForText(page, '#status', /^not_connected$/);
  }), 150_000);

  it('a SPA on 127.0.0.1 calling the API on localhost lands back on returnTo with oauth_binding_missing', () => inBrowser(async (page) => {
    const printed = new URL(sandbox.url);
    const fragment = new URLSearchParams(printed.hash.slice(1));
    fragment.set('api', `http://localhost:${sandbox.port}`);
    const spaOrigin = `http://127.0.0.1:${sandbox.port}`;
    await page.goto(`${spaOrigin}/sandbox/#${fragment}`);
    await waitForText(page, '#status', /^not_connected$/); // the cross-site API answers (CORS)

    await page.click('#connect');
    await page.waitForURL((u) => u.pathname === '/authorize', { timeout: 30_000 });
    await page.click('#accept');
    // The binding cookie was set by a cross-site response, so the browser never kept it.
    await page.waitForURL((u) => u.origin === spaOrigin && u.searchParams.get('jira') === 'error', { timeout: 30_000 });
    const back = new URL(page.url());
    expect(back.pathname).toBe('/sandbox/');
    expect(back.searchParams.get('code')).toBe('oauth_binding_missing');
    await waitForText(page, '#outcome', 'code=oauth_binding_missing');
    await waitForText(page, '#status', /^not_connected$/);
  }), 150_000);
});
