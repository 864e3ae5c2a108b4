/**
 * Where the local server's access token goes, in a real browser. Two workbenches run on two ports
 * and a third, plain HTTP server stands in for any other service on 127.0.0.1 (a dev server, a
 * notebook, a hostile local page). Both workbenches keep working in one browser — across reloads,
 * API calls and the event socket — and the other server receives neither token: no cookie is ever
 * set (cookies ignore ports), the token stays in each page's session storage and leaves it only in
 * requests to its own workbench.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

interface Recorded {
  url: string;
  headers: IncomingHttpHeaders;
}

let a: TestServer;
let b: TestServer;
let other: Server;
let otherUrl: string;
const received: Recorded[] = [];
let browser: Browser;
let context: BrowserContext;

/** A page on the other server that calls home with every credential a browser would attach. */
const OTHER_PAGE = `<!doctype html><meta charset="utf-8"><title>another local service</title>
<img src="/pixel.png" alt="">
<script>
  fetch('/with-credentials', { credentials: 'include' }).then(() => fetch('/done', { method: 'POST', credentials: 'include' }));
</script>`;

beforeAll(async () => {
  [a, b] = await Promise.all([startTestServer(), startTestServer()]);
  other = createServer((req, res) => {
    received.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(200, { 'Content-Type': req.url === '/' ? 'text/html' : 'text/plain' });
    res.end(req.url === '/' ? OTHER_PAGE : 'ok');
  });
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherUrl = `http://127.0.0.1:${(other.address() as AddressInfo).port}/`;
  browser = await launchBrowser();
  context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
});

afterAll(async () => {
  await browser?.close();
  await new Promise<void>((resolve) => (other ? other.close(() => resolve()) : resolve()));
  await Promise.all([a?.close(), b?.close()]);
});

/** The zoo list, which the page fills from an API call (listModels). */
const zooNames = (page: Page) =>
  page.$$eval('[data-testid="library-zoo"] li .file', (spans) => spans.map((s) => s.textContent?.trim()));

async function openWorkbench(t: TestServer): Promise<{ page: Page; frames: string[] }> {
  const page = await context.newPage();
  const frames: string[] = [];
  page.on('websocket', (socket) => socket.on('framereceived', (frame) => frames.push(String(frame.payload))));
  await page.goto(t.server.urlWithToken);
  await expect.poll(() => zooNames(page).then((n) => n.length)).toBeGreaterThan(0);
  return { page, frames };
}

describe('the access token in the browser', () => {
  let pageA: Page;
  let framesA: string[];
  let pageB: Page;

  it('two workbenches on two ports both keep working in one browser, each with its own token', async () => {
    ({ page: pageA, frames: framesA } = await openWorkbench(a));
    ({ page: pageB } = await openWorkbench(b));
    // The address no longer carries the token; the page's session storage does.
    expect(pageA.url()).toBe(a.server.url);
    expect(await pageA.evaluate(() => sessionStorage.getItem('ckawb.token'))).toBe(a.server.token);
    expect(await pageB.evaluate(() => sessionStorage.getItem('ckawb.token'))).toBe(b.server.token);
    // A reload of the first, after the second was opened, still works: nothing was overwritten.
    await pageA.reload();
    await expect.poll(() => zooNames(pageA).then((n) => n.length)).toBeGreaterThan(0);
    // The event socket of each page is authorised by its own workbench (sent until the socket is up).
    await expect
      .poll(() => {
        a.api.emit({ type: 'log', level: 'info', message: 'hello from A' });
        b.api.emit({ type: 'log', level: 'info', message: 'hello from B' });
        return framesA.some((f) => f.includes('hello from A'));
      })
      .toBe(true);
    expect(framesA.some((f) => f.includes('hello from B'))).toBe(false);
    expect(await context.cookies()).toEqual([]);
  });

  it('sends neither token to another service on 127.0.0.1', async () => {
    const page = await context.newPage();
    await page.goto(otherUrl);
    await expect.poll(() => received.some((r) => r.url === '/done')).toBe(true);
    expect(received.map((r) => r.url)).toEqual(expect.arrayContaining(['/', '/pixel.png', '/with-credentials']));
    for (const { url, headers } of received) {
      const seen = `${url} ${JSON.stringify(headers)}`;
      expect(seen).not.toContain(a.server.token);
      expect(seen).not.toContain(b.server.token);
      expect(headers.cookie, url).toBeUndefined();
      expect(headers.authorization, url).toBeUndefined();
    }
  });

  it('a page opened without the printed URL says it needs the token, and its API calls are refused', async () => {
    const page = await context.newPage();
    await page.goto(a.server.url);
    await expect(page.getByTestId('needs-token').textContent()).resolves.toMatch(/needs its access token/);
    const status = await page.evaluate(async () => (await fetch('api/appInfo', { method: 'POST', body: '{}' })).status);
    expect(status).toBe(401);
  });
});
