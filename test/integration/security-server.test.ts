/**
 * The local server's security checklist (issue 8 §5), tested from outside as a browser or another
 * program would meet it: every API method validates its request (malformed ones are 400
 * BAD_INPUT and change nothing), the server listens on loopback only, every API call needs the
 * token (the renderer's own files are public), paths cannot be turned into other files — encoded, double-encoded, backslashes, links —
 * neither for the renderer's files nor in API requests nor in uploads, folders are never listed,
 * and other origins get no CORS grant (preflights included).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { ApiEnvelope, CacheInfo, ExperimentInfo } from '../../app/common/contract.js';
import { API_METHODS } from '../../app/api/schemas.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { tokensMatch } from '../../app/server/auth.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { MALFORMED, NOT_OBJECTS } from '../helpers/malformed-requests.js';
import { removeTempDataDirs, tempDataDir, zoo } from '../helpers/experiments.js';
import { rendererDist, repoRoot, tinyCnn } from '../helpers/paths.js';
import { rawRequest, type RawRequestOptions } from '../helpers/server.js';

let api: Workbench;
let server: RunningServer;
let root: string;
let dataDir: string;
const SECRET = 'TOP SECRET: never served';

beforeAll(async () => {
  root = tempDataDir('ckawb-security-');
  dataDir = join(root, 'data');
  // A copy of the built renderer with links out of it, as a careless packaging step might leave.
  const staticDir = join(root, 'static');
  cpSync(rendererDist, staticDir, { recursive: true });
  writeFileSync(join(root, 'secret.txt'), SECRET);
  mkdirSync(join(root, 'private'));
  writeFileSync(join(root, 'private', 'notes.txt'), SECRET);
  symlinkSync(join(root, 'secret.txt'), join(staticDir, 'linked-secret.txt'));
  symlinkSync(join(root, 'private'), join(staticDir, 'linked-folder'));
  api = createWorkbench({ dataDir });
  server = await startServer({ api, staticDir, uploadDir: join(dataDir, 'uploads') });
});

afterAll(async () => {
  await server?.close();
  await api?.close();
  removeTempDataDirs();
});

/** A raw request (the path sent exactly as given), with the token unless `auth` is false. */
function send(path: string, options: RawRequestOptions & { auth?: boolean } = {}) {
  const headers = {
    ...(options.auth === false ? {} : { Authorization: `Bearer ${server.token}` }),
    ...options.headers,
  };
  return rawRequest(server.port, path, { ...options, headers });
}

const post = (method: string, body: unknown) =>
  send(`/api/${method}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });

describe('every API input is validated', () => {
  it('the table of malformed requests covers every method of the API', () => {
    expect(Object.keys(MALFORMED).sort()).toEqual([...API_METHODS].sort());
    for (const method of API_METHODS) expect(MALFORMED[method].length, method).toBeGreaterThan(0);
  });

  it('each malformed request to each method is 400 BAD_INPUT naming the method, and changes nothing', async () => {
    // The cache's state: its default limit (a tenth of the free disk, at most 5 GiB) follows the
    // disk, which tests running meanwhile fill and empty, so it is left out unless it was set.
    const cacheState = async () => {
      const envelope = JSON.parse((await post('getCacheInfo', {})).body) as ApiEnvelope<CacheInfo>;
      if (!envelope.ok || envelope.value.limitIsSet) return envelope;
      const { limitBytes, ...rest } = envelope.value;
      expect(limitBytes).toBeGreaterThan(0);
      return { ...envelope, value: rest };
    };
    const before = {
      cache: await cacheState(),
      experiments: JSON.parse((await post('listExperiments', {})).body) as ApiEnvelope<ExperimentInfo[]>,
    };
    let count = 0;
    for (const method of API_METHODS) {
      for (const body of [...MALFORMED[method], ...NOT_OBJECTS]) {
        const reply = await post(method, body);
        const envelope = JSON.parse(reply.body) as ApiEnvelope<unknown>;
        const what = `${method} ${JSON.stringify(body).slice(0, 80)}`;
        expect(reply.status, what).toBe(400);
        expect(envelope.ok, what).toBe(false);
        if (!envelope.ok) {
          expect(envelope.error.code, what).toBe('BAD_INPUT');
          expect(envelope.error.message, what).toMatch(new RegExp(`^invalid request for ${method}: `));
          expect(envelope.error.message.split('\n'), what).toHaveLength(1);
        }
        count++;
      }
    }
    expect(count).toBeGreaterThan(150);
    expect(await cacheState()).toEqual(before.cache);
    expect(JSON.parse((await post('listExperiments', {})).body)).toEqual(before.experiments);
    expect(existsSync(join(dataDir, 'exports'))).toBe(false);
  });

  it('bodies that are not JSON, too large, or methods that do not exist are refused', async () => {
    const notJson = await send('/api/appInfo', { method: 'POST', body: '{"a":' });
    expect([notJson.status, JSON.parse(notJson.body).error.code]).toEqual([400, 'BAD_INPUT']);
    // Past 4 MiB the server answers 400 and stops reading (the client may see the connection cut).
    const body = `{"x":"${'a'.repeat(5 * 2 ** 20)}"}`;
    const statusLine = await new Promise<string>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port: server.port });
      let received = '';
      const done = () => resolve(received.split('\r\n')[0] ?? '');
      socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
      socket.on('error', done);
      socket.on('close', done);
      socket.write(
        `POST /api/appInfo HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nAuthorization: Bearer ${server.token}\r\n` +
          `Content-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n`,
      );
      socket.write(body, () => undefined);
    });
    expect(statusLine === '' || statusLine.startsWith('HTTP/1.1 400')).toBe(true);
    expect((await post('appInfo', {})).status).toBe(200);
    for (const method of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', '..%2fappInfo', 'appInfo/x']) {
      const reply = await post(method, {});
      expect(reply.status, method).toBe(404);
      expect(JSON.parse(reply.body).error.code, method).toBe('NOT_FOUND');
    }
    const get = await send('/api/appInfo');
    expect(get.status).toBe(405);
  });
});

describe('network exposure', () => {
  it('listens on 127.0.0.1 only: not on the machine’s other addresses', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const external = Object.values(networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of external) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = connect({ host: address, port: server.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(outcome, address).toBe('ECONNREFUSED');
    }
  });

  it('every API call needs the token; a token compare is constant-time', async () => {
    for (const [path, method] of [
      ['/api/appInfo', 'POST'],
      ['/api/upload', 'POST'],
      ['/api/openModel', 'POST'],
      ['/api/listRuns', 'POST'],
    ] as const) {
      expect((await send(path, { method, auth: false })).status, path).toBe(401);
      const wrong = await send(path, { method, auth: false, headers: { Authorization: 'Bearer wrong' } });
      expect(wrong.status, path).toBe(401);
    }
    const cookieWrong = await send('/api/appInfo', {
      method: 'POST',
      auth: false,
      headers: { Cookie: 'ckawb_token=x' },
    });
    expect(cookieWrong.status).toBe(401);
    // Equal only when equal; lengths and prefixes do not matter.
    const token = server.token;
    expect(tokensMatch(token, token)).toBe(true);
    for (const other of ['', token.slice(0, -1), `${token}x`, token.toUpperCase(), `${token.slice(0, -1)}\u0000`]) {
      expect(tokensMatch(other, token)).toBe(false);
    }
    // The compare hashes both sides to equal lengths and uses crypto.timingSafeEqual: no early exit.
    const source = readFileSync(join(repoRoot, 'app/server/auth.ts'), 'utf8');
    const body = source.slice(source.indexOf('export function tokensMatch'), source.indexOf('function bearerToken'));
    expect(body).toMatch(/timingSafeEqual\(/);
    expect(body).toMatch(/createHash\('sha256'\)\.update\(given\)/);
  });

  it('other origins get no CORS grant: preflights, simple requests and WebSocket upgrades are refused', async () => {
    const evil = 'http://evil.example';
    const preflight = await send('/api/createExperiment', {
      method: 'OPTIONS',
      auth: false,
      headers: {
        Origin: evil,
        'Access-Control-Request-Method': 'POST',
        'Access-Control-Request-Headers': 'content-type',
      },
    });
    expect(preflight.status).toBe(403);
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-methods']).toBeUndefined();
    // Even the page's own origin is never sent a CORS grant: same-origin needs none.
    const own = await send('/api/appInfo', {
      method: 'OPTIONS',
      headers: { Origin: `http://127.0.0.1:${server.port}`, 'Access-Control-Request-Method': 'POST' },
    });
    expect(own.headers['access-control-allow-origin']).toBeUndefined();
    // A form-style POST from another site, with the cookie a browser would attach.
    const csrf = await send('/api/clearCache', {
      method: 'POST',
      auth: false,
      headers: { Origin: evil, 'Content-Type': 'text/plain', Cookie: `ckawb_token=${server.token}` },
      body: '{}',
    });
    expect(csrf.status).toBe(403);
    expect(csrf.headers['access-control-allow-origin']).toBeUndefined();
    for (const host of [`evil.example:${server.port}`, `127.0.0.1.nip.io:${server.port}`, '127.0.0.1:1', 'localhost']) {
      const rebound = await send('/api/appInfo', { method: 'POST', headers: { Host: host }, body: '{}' });
      expect(rebound.status, host).toBe(403);
    }
    const upgrade = await send('/api/events', {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        Origin: evil,
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
      },
    });
    expect(upgrade.status).toBe(401);
  });
});

describe('no path traversal, no listings', () => {
  it('the renderer’s files only: encoded, double-encoded, backslash and linked paths give 404', async () => {
    const paths = [
      '/../package.json',
      '/%2e%2e/package.json',
      '/%2E%2E/%2E%2E/package.json',
      '/%252e%252e/package.json',
      '/..%2fpackage.json',
      '/..%252fpackage.json',
      '/..%5cpackage.json',
      '/..\\package.json',
      '/%5c..%5c..%5cetc%5cpasswd',
      '/assets/..%2f..%2f..%2fpackage.json',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/.%2e/secret.txt',
      '//etc/passwd',
      '/%2fetc%2fpasswd',
      '/index.html%00.png',
      '/%E0%A4%A',
      '/linked-secret.txt',
      '/linked-folder/notes.txt',
      '/.well-known/../../secret.txt',
    ];
    for (const path of paths) {
      const reply = await send(path);
      expect([400, 404], path).toContain(reply.status);
      expect(reply.body, path).not.toContain(SECRET);
      expect(reply.body, path).not.toContain('"name": "cka-workbench"');
      expect(reply.body, path).not.toMatch(/root:.*:0:0:/);
    }
    expect((await send('/index.html')).status).toBe(200);
  });

  it('folders are never listed', async () => {
    for (const path of ['/assets', '/assets/', '/linked-folder/', '/.git/', '/api/', '/%2e/']) {
      const reply = await send(path);
      expect([404, 405], path).toContain(reply.status);
      expect(reply.body, path).not.toMatch(/index-[\w-]+\.js|<li>|Index of/);
    }
  });

  it('API paths name files literally; none of these reaches a file the user did not open', async () => {
    const outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'model.onnx'), readFileSync(zoo('plain-d1-s0')));
    const uploads = join(dataDir, 'uploads');
    mkdirSync(uploads, { recursive: true });
    symlinkSync(join(outside, 'model.onnx'), join(uploads, 'innocent.onnx'));
    symlinkSync(outside, join(uploads, 'folder-link'));
    const names = [
      join(outside, 'model.onnx'),
      `${uploads}/../../outside/model.onnx`,
      `${uploads}/%2e%2e/%2e%2e/outside/model.onnx`,
      `${uploads}/%252e%252e/%252e%252e/outside/model.onnx`,
      `${uploads}\\..\\..\\outside\\model.onnx`,
      `${uploads}/innocent.onnx`,
      `${uploads}/folder-link/model.onnx`,
      `${uploads}/./folder-link/../folder-link/model.onnx`,
    ];
    for (const path of names) {
      const spec = {
        name: 'x',
        kind: 'self',
        models: [{ path }],
        probe: 'random:8',
        layers: 'all',
        measures: ['linear'],
      };
      const created = JSON.parse((await post('createExperiment', { spec })).body) as ApiEnvelope<unknown>;
      expect(created.ok, path).toBe(false);
      if (!created.ok) expect(['FORBIDDEN', 'NOT_FOUND'], path).toContain(created.error.code);
      const probe = JSON.parse(
        (await post('openProbe', { spec: 'random:8', model: path })).body,
      ) as ApiEnvelope<unknown>;
      expect(probe.ok, path).toBe(false);
      if (!probe.ok) expect(['FORBIDDEN', 'NOT_FOUND'], path).toContain(probe.error.code);
    }
    // Probe files and folders are checked the same way.
    writeFileSync(join(outside, 'x.npy'), Buffer.alloc(200));
    for (const spec of [
      `npy:${uploads}/../../outside/x.npy`,
      `images:${uploads}/folder-link`,
      `npz:${outside}/x.npy`,
    ]) {
      const experiment = {
        name: 'x',
        kind: 'self',
        models: [{ path: tinyCnn }],
        probe: spec,
        layers: 'all',
        measures: ['linear'],
      };
      await post('openModel', { path: tinyCnn });
      const created = JSON.parse((await post('createExperiment', { spec: experiment })).body) as ApiEnvelope<unknown>;
      expect(created.ok, spec).toBe(false);
      if (!created.ok) expect(created.error.code, spec).toBe('FORBIDDEN');
    }
  });

  it('uploads land in the upload folder under a safe name, whatever the name says', async () => {
    const uploads = join(dataDir, 'uploads');
    const model = readFileSync(tinyCnn);
    for (const name of [
      '../../escape.onnx',
      '..%2F..%2Fescape.onnx',
      '%2e%2e%5c%2e%2e%5cescape.onnx',
      '..\\..\\escape.onnx',
      '/etc/cron.d/escape',
      '.bashrc',
      'a\u0000b.onnx',
      'x'.repeat(500),
    ]) {
      const reply = await send(`/api/upload?name=${encodeURIComponent(name)}`, { method: 'POST', body: model });
      expect(reply.status, name).toBe(200);
      const { path } = (JSON.parse(reply.body) as { value: { path: string } }).value;
      expect(path.startsWith(`${uploads}/`), name).toBe(true);
      const fileName = path.split('/').pop()!;
      expect(fileName, name).toMatch(/^[A-Za-z0-9_-][A-Za-z0-9._-]{0,119}$/);
      expect(readFileSync(path)).toEqual(model);
    }
    expect(existsSync(join(dataDir, 'escape.onnx'))).toBe(false);
    expect(existsSync(join(root, 'escape.onnx'))).toBe(false);
    expect(readdirSync(uploads).some((f) => f.endsWith('.tmp'))).toBe(false);
  });
});
