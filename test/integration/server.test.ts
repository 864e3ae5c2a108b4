import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import WebSocket from 'ws';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { rawRequest, startTestServer, type RawRequestOptions, type TestServer } from '../helpers/server.js';
import { tinyCnn } from '../helpers/paths.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

const send = (path: string, options: RawRequestOptions = {}) => rawRequest(t.server.port, path, options);

const auth = () => ({ Authorization: `Bearer ${t.server.token}`, 'Content-Type': 'application/json' });

describe('local server', () => {
  it('listens on loopback only', () => {
    expect(t.server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
  });

  it('answers API calls with the engine result', async () => {
    const reply = await send('/api/inspectModel', {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ path: tinyCnn }),
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.body)).toEqual({
      ok: true,
      value: JSON.parse(JSON.stringify(await inspectModelFile(tinyCnn))),
    });
  });

  it('refuses requests without the token, or with a wrong one', async () => {
    const body = JSON.stringify({ path: tinyCnn });
    const none = await send('/api/inspectModel', { method: 'POST', body });
    expect(none.status).toBe(401);
    expect(JSON.parse(none.body).error.code).toBe('UNAUTHORIZED');
    const wrong = await send('/api/inspectModel', {
      method: 'POST',
      body,
      // The last character changed (to one it is not: a fixed 'x' was the token itself 1 time in 64).
      headers: { Authorization: `Bearer ${t.server.token.slice(0, -1)}${t.server.token.endsWith('x') ? 'y' : 'x'}` },
    });
    expect(wrong.status).toBe(401);
  });

  it('a cookie never authorises, and a malformed cookie or header is a 401, not a crash', async () => {
    const body = '{}';
    for (const headers of <Record<string, string>[]>[
      { Cookie: `ckawb_token=${t.server.token}` },
      { Cookie: 'ckawb_token=%E0%A4%A' },
      { Cookie: '%E0%A4%A=%E0%A4%A; =; ;;' },
      { Authorization: 'Bearer %E0%A4%A' },
      { Authorization: 'Bearer' },
      { Authorization: `Basic ${t.server.token}` },
      { Authorization: `Bearer ${t.server.token} ${t.server.token}` },
      { Authorization: `Token ${t.server.token}` },
    ]) {
      const reply = await send('/api/appInfo', { method: 'POST', headers, body });
      expect(reply.status, JSON.stringify(headers)).toBe(401);
      expect(JSON.parse(reply.body).error.code).toBe('UNAUTHORIZED');
    }
    const malformedCookie = await send('/api/appInfo', {
      method: 'POST',
      headers: { ...auth(), Cookie: 'ckawb_token=%E0%A4%A' },
      body,
    });
    expect(malformedCookie.status).toBe(200);
  });

  it('maps typed errors to HTTP statuses and keeps running', async () => {
    const bad = await send('/api/inspectModel', { method: 'POST', headers: auth(), body: '{"path": 3}' });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error.message).toMatch(/invalid request for inspectModel: path/);
    const notJson = await send('/api/inspectModel', { method: 'POST', headers: auth(), body: '{' });
    expect(notJson.status).toBe(400);
    const unknown = await send('/api/dropTables', { method: 'POST', headers: auth(), body: '{}' });
    expect(unknown.status).toBe(404);
    const corrupt = await send('/api/inspectModel', {
      method: 'POST',
      headers: auth(),
      body: JSON.stringify({ path: '/etc/hostname' }),
    });
    expect(corrupt.status).toBe(422);
    expect(JSON.parse(corrupt.body).error).toMatchObject({ code: 'BAD_MODEL' });
    const ok = await send('/api/appInfo', { method: 'POST', headers: auth(), body: '{}' });
    expect(JSON.parse(ok.body).value.name).toBe('CKA Workbench');
  });

  it('serves the page to the printed URL with no cookie and no redirect; the page keeps the token', async () => {
    for (const path of [`/?token=${t.server.token}`, '/', '/index.html', `/.//evil.example/?token=${t.server.token}`]) {
      const page = await send(path, { headers: { Cookie: 'ckawb_token=%E0%A4%A' } });
      expect(page.headers['set-cookie'], path).toBeUndefined();
      expect(page.headers.location, path).toBeUndefined();
      expect(page.body, path).not.toContain(t.server.token);
      if (!path.startsWith('/.//')) {
        expect(page.status, path).toBe(200);
        expect(page.body).toContain('<div id="app">');
        expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
      } else {
        expect(page.status, path).toBe(404);
      }
    }
    for (const path of ['/%E0%A4%A', '/assets/%E0%A4%A.js', '/%']) {
      expect((await send(path)).status, path).toBe(404);
    }
  });

  it('serves no files outside the renderer and no listings', async () => {
    const headers = { Authorization: `Bearer ${t.server.token}` };
    for (const path of ['/../package.json', '/%2e%2e/package.json', '/..%2fpackage.json', '/assets/', '/assets']) {
      const reply = await send(path, { headers });
      expect(reply.status, path).toBe(404);
      expect(reply.body).not.toContain('"name": "cka-workbench"');
    }
  });

  it('rejects other sites: foreign Origin and rebinding Host headers', async () => {
    const foreign = await send('/api/appInfo', {
      method: 'POST',
      headers: { ...auth(), Origin: 'http://evil.example' },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
    expect(foreign.headers['access-control-allow-origin']).toBeUndefined();
    const rebound = await send('/api/appInfo', {
      method: 'POST',
      headers: { ...auth(), Host: `evil.example:${t.server.port}` },
      body: '{}',
    });
    expect(rebound.status).toBe(403);
  });

  it('stores uploads in its own directory under a safe name', async () => {
    const reply = await send(`/api/upload?name=${encodeURIComponent('../../evil name.onnx')}`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${t.server.token}` },
      body: readFileSync(tinyCnn),
    });
    expect(reply.status).toBe(200);
    const { path } = JSON.parse(reply.body).value as { path: string };
    expect(path.startsWith(t.dataDir)).toBe(true);
    expect(path.endsWith('/evil_name.onnx')).toBe(true);
    expect(readFileSync(path)).toEqual(readFileSync(tinyCnn));
  });

  it('pushes engine events over an authorised WebSocket only', async () => {
    const url = `ws://127.0.0.1:${t.server.port}/api/events`;
    await expect(
      new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        ws.on('open', () => resolve('opened'));
        ws.on('error', reject);
      }),
    ).rejects.toThrow(/401/);
    // A browser cannot set headers on a WebSocket: the token rides in a subprotocol, and the server
    // answers with the events protocol, never echoing the token back.
    for (const protocols of [
      ['ckawb.events', `ckawb.token.${t.server.token}x`],
      [`ckawb.token.${t.server.token}`],
      ['ckawb.events', 'ckawb.token.%E0%A4%A'],
    ]) {
      await expect(
        new Promise((resolve, reject) => {
          const refused = new WebSocket(url, protocols);
          refused.on('open', () => resolve('opened'));
          refused.on('error', reject);
        }),
        protocols.join(),
      ).rejects.toThrow(/401/);
    }
    const ws = new WebSocket(url, ['ckawb.events', `ckawb.token.${t.server.token}`]);
    await new Promise((resolve) => ws.on('open', resolve));
    expect(ws.protocol).toBe('ckawb.events');
    const received = new Promise<unknown>((resolve) => ws.on('message', (data) => resolve(JSON.parse(String(data)))));
    t.api.emit({ type: 'log', level: 'info', message: 'hello' });
    expect(await received).toEqual({ type: 'log', level: 'info', message: 'hello' });
    ws.close();
  });
});
