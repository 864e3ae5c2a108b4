/** Debian's Chromium driven by playwright-core (no browser download: the system binary). */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll } from 'vitest';
import { existsSync } from 'node:fs';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchBrowser(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
  });
}

export interface PageOnServer<S> {
  server: S;
  browser: Browser;
  page: Page;
}

/**
 * Registers the e2e suites' beforeAll/afterAll: a server from `start`, Chromium, and one page at
 * the app's smallest supported size (1280×800, device scale 1) showing `url(server)`. `prepare`
 * runs before the page loads (init scripts, exposed functions). Read the fields inside tests.
 */
export function pageOnServer<S extends { close(): Promise<void> }>(
  start: () => Promise<S>,
  url: (server: S) => string,
  prepare?: (page: Page) => Promise<void>,
): PageOnServer<S> {
  const context = {} as PageOnServer<S>;
  beforeAll(async () => {
    context.server = await start();
    context.browser = await launchBrowser();
    context.page = await context.browser.newPage({
      viewport: { width: 1280, height: 800 },
      deviceScaleFactor: 1,
      acceptDownloads: true,
    });
    await prepare?.(context.page);
    await context.page.goto(url(context.server));
  });
  afterAll(async () => {
    await context.browser?.close();
    await context.server?.close();
  });
  return context;
}
