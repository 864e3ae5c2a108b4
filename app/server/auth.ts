/**
 * Access control for the local server: a random token printed at start, required on every request
 * (query `?token=`, `Authorization: Bearer`, or the HttpOnly cookie set when the printed URL is
 * opened), compared in constant time; and Host/Origin checks against DNS rebinding and other sites.
 */
import { randomBytes, timingSafeEqual, createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'ckawb_token';

export function newAccessToken(): string {
  return randomBytes(24).toString('base64url');
}

/** Constant-time equality; hashing first makes the compared lengths equal. */
export function tokensMatch(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

function cookieValue(req: IncomingMessage, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return decodeURIComponent(part.slice(eq + 1).trim());
  }
  return undefined;
}

/** Every place a client may carry the token, in order of preference. */
export function presentedTokens(req: IncomingMessage, url: URL): string[] {
  const tokens: string[] = [];
  const auth = req.headers.authorization;
  if (auth?.startsWith('Bearer ')) tokens.push(auth.slice('Bearer '.length).trim());
  const query = url.searchParams.get('token');
  if (query) tokens.push(query);
  const cookie = cookieValue(req, TOKEN_COOKIE);
  if (cookie) tokens.push(cookie);
  return tokens;
}

export function isAuthorized(req: IncomingMessage, url: URL, token: string): boolean {
  return presentedTokens(req, url).some((t) => tokensMatch(t, token));
}

/** Only our own loopback origin may talk to us (Host guards DNS rebinding; Origin guards CSRF). */
export function isAllowedHostAndOrigin(req: IncomingMessage, port: number): boolean {
  const allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  if (!req.headers.host || !allowedHosts.has(req.headers.host)) return false;
  const origin = req.headers.origin;
  if (origin === undefined) return true; // same-origin navigations and non-browser clients
  return origin === `http://127.0.0.1:${port}` || origin === `http://localhost:${port}`;
}
