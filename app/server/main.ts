/**
 * `npm run serve`: the workbench UI in a browser, served on 127.0.0.1 with a random access token.
 * On Linux the server first starts itself again with huge pages for malloc, as the CLI's commands
 * that compute do (api/huge-pages.mjs): its engine computes Grams in this process.
 */
import { Command, InvalidArgumentError } from 'commander';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { createWorkbench } from '../api/workbench.js';
import { defaultDataDir } from '../api/data-dir.js';
import { followParent, hugePagesEnv, relaunch } from '../api/huge-pages.mjs';
import { parseMaxProbeExamples } from '../api/probe-limit.js';
import { reportError } from './report-error.js';
import { startServer } from './http-server.js';
import { stopHandler } from './shutdown.js';

function parsePort(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('a port is 0–65535');
  return port;
}

const program = new Command('cka-workbench-serve')
  .description('serve the CKA Workbench UI on 127.0.0.1')
  .option('-p, --port <port>', 'port to listen on (0 = any free port)', parsePort, 5757)
  .option('--data-dir <dir>', "the app's data directory", defaultDataDir())
  .option('--static-dir <dir>', 'the built renderer', fileURLToPath(new URL('../../dist/renderer', import.meta.url)))
  .option(
    '--max-probe-examples <n>',
    'the most examples a probe set may have (default 1000000, or CKA_WORKBENCH_MAX_PROBE_EXAMPLES)',
    (text: string) => {
      try {
        return parseMaxProbeExamples(text, '--max-probe-examples');
      } catch (err) {
        throw new InvalidArgumentError((err as Error).message);
      }
    },
  )
  .parse();

const options = program.opts<{ port: number; dataDir: string; staticDir: string; maxProbeExamples?: number }>();

async function serve(): Promise<void> {
  const api = createWorkbench({
    dataDir: options.dataDir,
    ...(options.maxProbeExamples !== undefined ? { maxProbeExamples: options.maxProbeExamples } : {}),
  });
  try {
    await api.preload();
    const server = await startServer({
      api,
      staticDir: options.staticDir,
      uploadDir: join(options.dataDir, 'uploads'),
      port: options.port,
    });
    process.stdout.write(`CKA Workbench is serving at ${server.urlWithToken}\n(open it in a browser; Ctrl+C stops)\n`);
    const stop = stopHandler(server, api, (code) => process.exit(code));
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  } catch (err) {
    reportError(err);
    await api.close();
  }
}

const again = hugePagesEnv(process.env);
if (again) {
  relaunch(again);
} else {
  followParent();
  await serve();
}
