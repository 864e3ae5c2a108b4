/**
 * Serves the built renderer under `app://workbench/` (a privileged custom scheme instead of
 * file://, as Electron's security guide advises), with the CSP as a real response header.
 */
import { net, protocol } from 'electron';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { isInside } from '../app/api/file-access.js';
import { APP_SCHEME, RENDERER_CSP } from './security.js';

export function registerAppScheme(): void {
  protocol.registerSchemesAsPrivileged([
    { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
  ]);
}

/** Whether `path` lies in the folder `root` (or is it). */
export function serveRenderer(rendererDir: string): void {
  const root = resolve(rendererDir);
  let realRoot: Promise<string> | null = null;
  protocol.handle(APP_SCHEME, async (request) => {
    const { pathname } = new URL(request.url);
    const file = resolve(root, `.${decodeURIComponent(pathname === '/' ? '/index.html' : pathname)}`);
    if (!isInside(file, root)) return new Response('forbidden', { status: 403 });
    // A link inside the folder must not lead out of it. (Paths realpath cannot follow — missing
    // files, or an archive it does not see into — keep the check above.)
    realRoot ??= realpath(root).catch(() => root);
    const real = await realpath(file).catch(() => null);
    if (real !== null && !isInside(real, await realRoot)) return new Response('forbidden', { status: 403 });
    const response = await net.fetch(pathToFileURL(file).href);
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', RENDERER_CSP);
    headers.set('X-Content-Type-Options', 'nosniff');
    return new Response(response.body, { status: response.status, headers });
  });
}
