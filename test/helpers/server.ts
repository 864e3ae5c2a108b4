/** Starts the real HTTP shell over a real workbench in a temporary data directory. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { startServer, type RunningServer } from '../../app/server/http-server.js';
import { rendererDist } from './paths.js';

export interface TestServer {
  server: RunningServer;
  api: Workbench;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestServer(): Promise<TestServer> {
  const dataDir = mkdtempSync(join(tmpdir(), 'ckawb-data-'));
  const api = createWorkbench({ dataDir });
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
