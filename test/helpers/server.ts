/** Starts the real HTTP shell over a real workbench in a temporary data directory. */
import { mkdtempSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkbench, type Workbench, type WorkbenchOptions } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { rendererDist } from './paths.js';

export interface TestServer {
  server: RunningServer;
  api: Workbench;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(options: Omit<WorkbenchOptions, 'dataDir'> = {}): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ckawb-data-'));
  const api = createWorkbench({ ...options, dataDir });
  await api.preload();
  const server = await startServer({ api, staticDir: rendererDist, uploadDir: join(dataDir, 'uploads') });
  return {
    server,
    api,
    dataDir,
    close: async () => {
      await server.close();
      await api.close();
    },
  };
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface RawRequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
}

/** A raw HTTP request to 127.0.0.1:port: the path is sent exactly as given (no client-side normalisation). */
export function rawRequest(port: number, path: string, options: RawRequestOptions = {}): Promise<RawReply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: options.headers },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }),
        );
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}
