/**
 * No eval and no remote code in the renderer (issue 8 §5): the built bundle (dist/renderer, what
 * both the Electron window and the local server load) contains no eval, Function constructor or
 * string timers, loads nothing from another origin, has no inline script; and both content
 * security policies — the Electron app protocol's and the local server's — forbid eval, inline
 * scripts and every remote origin.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { RENDERER_CSP } from '../../main/security.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { removeTempDataDirs, tempDataDir } from '../helpers/experiments.js';
import { rendererDist } from '../helpers/paths.js';

const files = (readdirSync(rendererDist, { recursive: true }) as string[]).map((f) => join(rendererDist, f));
const scripts = files.filter((f) => f.endsWith('.js') || f.endsWith('.mjs'));

function directives(csp: string): Record<string, string[]> {
  return Object.fromEntries(
    csp
      .split(';')
      .map((d) => d.trim())
      .filter(Boolean)
      .map((d) => {
        const [name, ...values] = d.split(/\s+/);
        return [name!, values];
      }),
  );
}

/** What a strict CSP must say, whichever shell serves the renderer. */
function checkStrictCsp(csp: string, allowedConnect: string[] = []): void {
  const d = directives(csp);
  expect(d['default-src']).toEqual(["'none'"]);
  expect(d['script-src']).toEqual(["'self'"]);
  expect(csp).not.toMatch(/unsafe-eval|unsafe-inline|wasm-unsafe-eval|unsafe-hashes|strict-dynamic|'nonce-|'sha\d+-/);
  for (const [name, values] of Object.entries(d)) {
    for (const value of values) {
      if (name === 'connect-src' && allowedConnect.includes(value)) continue;
      // Only our own origin, local data the page makes itself, or nothing.
      expect(["'self'", "'none'", 'data:', 'blob:'], `${name} ${value}`).toContain(value);
    }
  }
  for (const name of ['script-src', 'default-src', 'connect-src', 'object-src', 'frame-src', 'worker-src']) {
    expect(d[name] ?? [], name).not.toContain('data:');
    expect(d[name] ?? [], name).not.toContain('blob:');
  }
  expect(d['base-uri']).toEqual(["'none'"]);
  expect(d['frame-ancestors']).toEqual(["'none'"]);
  expect(d['form-action']).toEqual(["'none'"]);
}

describe('the built renderer', () => {
  it('exists, with its scripts', () => {
    expect(scripts.length).toBeGreaterThan(0);
  });

  it('has no eval, Function constructor, string timers or script imports from elsewhere', () => {
    const forbidden: [string, RegExp][] = [
      ['eval', /(^|[^\w$.])eval\s*\(/],
      ['indirect eval', /\(\s*0\s*,\s*eval\s*\)/],
      ['Function constructor', /(^|[^\w$.])(new\s+)?Function\s*\(/],
      ['string setTimeout', /setTimeout\s*\(\s*["'`]/],
      ['string setInterval', /setInterval\s*\(\s*["'`]/],
      ['importScripts', /importScripts\s*\(/],
      ['remote dynamic import', /import\s*\(\s*["'`](https?:)?\/\//],
      ['remote fetch', /fetch\s*\(\s*["'`](https?:)?\/\//],
      ['remote worker', /new\s+(Shared)?Worker\s*\(\s*["'`](https?:)?\/\//],
      ['remote WebSocket', /new\s+WebSocket\s*\(\s*["'`]wss?:\/\/(?!127\.0\.0\.1|localhost)/],
      ['document.write', /document\.write(ln)?\s*\(/],
    ];
    for (const file of scripts) {
      const code = readFileSync(file, 'utf8');
      for (const [what, pattern] of forbidden) expect(pattern.test(code), `${what} in ${file}`).toBe(false);
    }
  });

  it('its pages load scripts and styles from the app itself only, and hold no inline script', () => {
    for (const page of files.filter((f) => f.endsWith('.html'))) {
      const html = readFileSync(page, 'utf8');
      const tags = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
      expect(tags.length, page).toBeGreaterThan(0);
      for (const [, attributes, body] of tags) {
        expect(attributes, page).toMatch(/\bsrc="\.?\/[^"]+"/);
        expect(body!.trim(), page).toBe('');
      }
      for (const [, url] of html.matchAll(/\b(?:src|href)="([^"]*)"/g)) {
        expect(url, page).toMatch(/^(\.?\/[^/]|data:,$)/);
      }
      expect(html, page).not.toMatch(/\son[a-z]+=/i);
      expect(html, page).not.toMatch(/javascript:/i);
    }
  });
});

describe('content security policies', () => {
  let api: Workbench;
  let server: RunningServer;
  beforeAll(async () => {
    api = createWorkbench({ dataDir: tempDataDir('ckawb-csp-') });
    server = await startServer({ api, staticDir: rendererDist, uploadDir: tempDataDir('ckawb-csp-uploads-') });
  });
  afterAll(async () => {
    await server?.close();
    await api?.close();
    removeTempDataDirs();
  });

  it('the Electron app protocol: own scripts only, no eval, no inline code, no remote origin', () => {
    checkStrictCsp(RENDERER_CSP);
    expect(directives(RENDERER_CSP)['object-src']).toEqual(["'none'"]);
  });

  it('the local server: the same, plus its own WebSocket on loopback, on every answer', async () => {
    for (const path of ['/', '/index.html', '/missing', '/api/appInfo']) {
      const response = await fetch(`${server.url}${path.slice(1)}`, {
        method: path.startsWith('/api/') ? 'POST' : 'GET',
        headers: { Authorization: `Bearer ${server.token}` },
        redirect: 'manual',
      });
      const csp = response.headers.get('content-security-policy')!;
      expect(csp, path).toBeTruthy();
      checkStrictCsp(csp, [`ws://127.0.0.1:${server.port}`, `ws://localhost:${server.port}`]);
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});
