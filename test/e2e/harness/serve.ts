/**
 * Builds the component harness with Vite into a temporary directory and serves it on 127.0.0.1
 * with the app's own Content-Security-Policy, so components are tested under the rules they ship
 * with.
 */
import { createServer } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import sirv from 'sirv';
import { build } from 'vite';
import { svelte, vitePreprocess } from '@sveltejs/vite-plugin-svelte';
import { RENDERER_CSP } from '../../../main/security.js';

const harnessDir = fileURLToPath(new URL('.', import.meta.url));
const commonDir = fileURLToPath(new URL('../../../app/common', import.meta.url));

export interface HarnessServer {
  url: string;
  close(): Promise<void>;
}

export async function buildHarness(outDir: string): Promise<void> {
  await build({
    configFile: false,
    root: harnessDir,
    base: './',
    logLevel: 'warn',
    plugins: [svelte({ configFile: false, preprocess: vitePreprocess() })],
    resolve: { alias: { '@common': commonDir } },
    build: {
      outDir,
      emptyOutDir: true,
      target: 'es2022',
      sourcemap: false,
      chunkSizeWarningLimit: 2048,
      // A slow machine makes the Svelte compiler "slow"; that warning is noise in test output.
      rolldownOptions: { checks: { bundlerTimings: false } },
    },
  });
}

export async function serveHarness(): Promise<HarnessServer> {
  const outDir = mkdtempSync(join(tmpdir(), 'ckawb-harness-'));
  await buildHarness(outDir);
  const assets = sirv(outDir, { dev: false, dotfiles: false });
  const server = createServer((req, res) => {
    res.setHeader('Content-Security-Policy', RENDERER_CSP);
    res.setHeader('X-Content-Type-Options', 'nosniff');
    assets(req, res, () => {
      res.statusCode = 404;
      res.end('not found');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/index.html`,
    close: async () => {
      // Keep-alive connections from the browser would hold close() open.
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(outDir, { recursive: true, force: true });
    },
  };
}
