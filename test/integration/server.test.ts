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
    expect((await send('/')).status).toBe(401);
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

  it('trades the token in the URL for an HttpOnly cookie', async () => {
    const first = await send(`/?token=${t.server.token}`);
    expect(first.status).toBe(303);
    expect(first.headers.location).toBe('/');
    const cookie = String(first.headers['set-cookie']);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await send('/', { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<div id="app">');
    expect(page.headers['content-security-policy']).toMatch(/script-src 'self'/);
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
    const ws = new WebSocket(`${url}?token=${t.server.token}`);
    await new Promise((resolve) => ws.on('open', resolve));
    const received = new Promise<unknown>((resolve) => ws.on('message', (data) => resolve(JSON.parse(String(data)))));
    t.api.emit({ type: 'log', level: 'info', message: 'hello' });
    expect(await received).toEqual({ type: 'log', level: 'info', message: 'hello' });
    ws.close();
  });
});
