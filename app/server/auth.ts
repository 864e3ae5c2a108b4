/**
 * Access control for the local server: a random token printed at start, required on every API
 * request and on the event socket, compared in constant time; and Host/Origin checks against DNS
 * rebinding and other sites.
 *
 * The token never travels in a cookie: cookies ignore ports, so one set by 127.0.0.1:5757 would be
 * sent to every other service on 127.0.0.1 (a dev server, a notebook, a hostile local page), and two
 * workbenches on two ports would overwrite each other's. The page keeps the token in its session
 * storage (per origin, so per port, and per tab; renderer/src/transport/token.ts) and sends it:
 *
 *   HTTP API      `Authorization: Bearer TOKEN`
 *   event socket  the subprotocols `ckawb.events, ckawb.token.TOKEN` (a browser WebSocket cannot set
 *                 headers); the server answers with `ckawb.events` only. Non-browser clients may
 *                 send the Authorization header instead.
 *
 * Nothing here throws on a malformed header: whatever it holds, a request without a matching
 * token is refused with 401.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The event socket's subprotocol, the one the server selects. */
export const EVENTS_PROTOCOL = 'ckawb.events';
/** Prefix of the subprotocol that carries the token (`ckawb.token.TOKEN`). */
export const TOKEN_PROTOCOL_PREFIX = 'ckawb.token.';

export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time equality; hashing first makes the compared lengths equal. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function bearerToken(req: IncomingMessage): string | undefined {
  const auth = req.headers.authorization;
  const match = typeof auth === 'string' ? /^Bearer ([A-Za-z0-9._~+/=-]{1,512})$/i.exec(auth.trim()) : null;
  return match?.[1];
}

/** The subprotocols a WebSocket upgrade offers (`Sec-WebSocket-Protocol`), trimmed. */
export function offeredProtocols(req: IncomingMessage): string[] {
  const header = req.headers['sec-websocket-protocol'];
  if (typeof header !== 'string') return [];
  return header
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}

function protocolToken(req: IncomingMessage): string | undefined {
  const carrier = offeredProtocols(req).find((p) => p.startsWith(TOKEN_PROTOCOL_PREFIX));
  return carrier?.slice(TOKEN_PROTOCOL_PREFIX.length);
}

/** An API request: the Authorization header carries the token. */
export function isAuthorized(req: IncomingMessage, token: string): boolean {
  const given = bearerToken(req);
  return given !== undefined && tokensMatch(given, token);
}

/** The event socket: the token subprotocol (browsers) or the Authorization header, and our protocol offered. */
export function isAuthorizedUpgrade(req: IncomingMessage, token: string): boolean {
  const given = protocolToken(req);
  if (given !== undefined) return offeredProtocols(req).includes(EVENTS_PROTOCOL) && tokensMatch(given, token);
  return isAuthorized(req, token);
}

/** Only our own loopback origin may talk to us (Host guards DNS rebinding; Origin guards CSRF). */
export function isAllowedHostAndOrigin(req: IncomingMessage, port: number): boolean {
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (!req.headers.host || !allowedHosts.has(req.headers.host)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true; // same-origin navigations and non-browser clients
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
