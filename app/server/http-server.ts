/**
 * The local HTTP shell: serves the built renderer and adapts the WorkbenchApi as
 * `POST /api/<method>` (JSON envelope in, JSON envelope out) plus a WebSocket at `/api/events` for
 * engine events. Bound to 127.0.0.1 only; every request needs the access token.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { existsSync, realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import type { AddressInfo } from 'node:net';
import sirv from 'sirv';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ApiEnvelope, WorkbenchApi } from '../common/contract.js';
import { dispatch } from '../api/dispatch.js';
import { WorkbenchError, toErrorData } from '../common/errors.js';
import { isInside } from '../api/file-access.js';
import { TOKEN_COOKIE, isAllowedHostAndOrigin, isAuthorized, newAccessToken } from './auth.js';
import { HTTP_STATUS } from './http-status.js';
import { receiveUpload } from './upload.js';

export const LOOPBACK_HOST = '127.0.0.1';
const MAX_JSON_BODY_BYTES = 4 * 1024 * 1024;

export interface ServerOptions {
  api: WorkbenchApi;
  /** The built renderer (dist/renderer). */
  staticDir: string;
  /** Where uploaded models are stored (inside the app's data directory). */
  uploadDir: string;
  /** 0 picks a free port. */
  port?: number;
  /** Fixed token (tests); by default a fresh random one. */
  token?: string;
}

export interface RunningServer {
  url: string;
  /** The URL to open: carries the token once, then a cookie keeps it. */
  urlWithToken: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'X-Frame-Options': 'DENY',
};

function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",
    "font-src 'self'",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text);
}

function sendEnvelope(res: ServerResponse, envelope: ApiEnvelope<unknown>): void {
  sendJson(res, envelope.ok ? 200 : HTTP_STATUS[envelope.error.code], envelope);
}

function sendError(res: ServerResponse, error: WorkbenchError): void {
  sendEnvelope(res, { ok: false, error: error.toData() });
}

async function readJsonBody(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_JSON_BODY_BYTES) throw new WorkbenchError('BAD_INPUT', 'request body is too large');
    chunks.push(chunk);
  }
  if (size === 0) return {};
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown;
  } catch {
    throw new WorkbenchError('BAD_INPUT', 'request body is not valid JSON');
  }
}

const NEEDS_TOKEN_PAGE = `<!doctype html><meta charset="utf-8"><title>CKA Workbench</title>
<p style="font-family:sans-serif">This workbench needs its access token. Open the URL that
<code>npm run serve</code> printed (it ends with <code>?token=…</code>). Each start of the server
prints a new one: after a restart, open the new address. Runs and results are kept.</p>`;

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const { api, staticDir, uploadDir } = options;
  if (!existsSync(staticDir)) {
    throw new WorkbenchError('NOT_FOUND', `${staticDir}: the renderer is not built; run \`npm run build\` first`);
  }
  const token = options.token ?? newAccessToken();
  const assets = sirv(staticDir, { dev: false, etag: true, dotfiles: false, single: false });
  const staticRoot = realpathSync(staticDir);
  /**
   * sirv serves what a link in the renderer's folder points to, wherever that is; only files whose
   * real path lies inside the folder are served. (Paths that do not resolve are left to sirv: 404.)
   */
  const insideStaticDir = (pathname: string): boolean => {
    let real: string;
    try {
      real = realpathSync(resolve(staticRoot, `.${decodeURIComponent(pathname)}`));
    } catch {
      return true;
    }
    return isInside(real, staticRoot);
  };
  let port = 0;

  const server = createServer((req, res) => {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    res.setHeader('Content-Security-Policy', contentSecurityPolicy(port));
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendEnvelope(res, { ok: false, error: toErrorData(err) });
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${port}`);
    if (!isAllowedHostAndOrigin(req, port)) {
      return sendError(res, new WorkbenchError('FORBIDDEN', 'requests are accepted from this workbench page only'));
    }
    const isApi = url.pathname === '/api' || url.pathname.startsWith('/api/');
    if (!isAuthorized(req, url, token)) {
      if (isApi) return sendError(res, new WorkbenchError('UNAUTHORIZED', 'missing or wrong access token'));
      res.writeHead(401, { 'Content-Type': 'text/html; charset=utf-8' });
      res.end(NEEDS_TOKEN_PAGE);
      return;
    }
    if (!isApi && url.searchParams.has('token')) {
      // Trade the token in the URL for a cookie, then drop it from the address bar.
      res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`);
      url.searchParams.delete('token');
      res.writeHead(303, { Location: url.pathname + url.search });
      res.end();
      return;
    }
    if (isApi) {
      if (req.method !== 'POST') {
        res.setHeader('Allow', 'POST');
        return sendJson(res, 405, { ok: false, error: { code: 'BAD_INPUT', message: 'use POST for API calls' } });
      }
      const method = url.pathname.slice('/api/'.length);
      if (method === 'upload') {
        const path = await receiveUpload(req, uploadDir, url.searchParams.get('name') ?? 'model.onnx');
        return sendEnvelope(res, { ok: true, value: { path } });
      }
      const body = await readJsonBody(req);
      return sendEnvelope(res, await dispatch(api, method, body));
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const notFound = () => {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('not found');
    };
    if (!insideStaticDir(url.pathname)) return notFound();
    assets(req, res, notFound);
  }

  const sockets = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', `http://${LOOPBACK_HOST}:${port}`);
    if (url.pathname !== '/api/events' || !isAllowedHostAndOrigin(req, port) || !isAuthorized(req, url, token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\n\r\n');
      socket.destroy();
      return;
    }
    sockets.handleUpgrade(req, socket, head, (ws: WebSocket) => {
      const unsubscribe = api.subscribe((event) => {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(event));
      });
      ws.on('close', unsubscribe);
      ws.on('error', unsubscribe);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, LOOPBACK_HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://${LOOPBACK_HOST}:${port}/`;
  return {
    url,
    urlWithToken: `${url}?token=${token}`,
    port,
    token,
    close: async () => {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
