/**
 * Entry of the engine host: a utilityProcess that runs the whole WorkbenchApi, so the Electron
 * main process never computes (and a crash of native code in here — onnxruntime in the CKA core's
 * worker threads, better-sqlite3 — ends this process, not the app). Main sends one `connect`
 * message on process.parentPort carrying the MessagePort all later traffic uses.
 */
import type { ConnectMessage, PortLike } from './engine-protocol.js';
import { isMessage } from './engine-protocol.js';
import { serveEngine } from './engine-service.js';

interface ParentPort {
  once(event: 'message', listener: (event: { data: unknown; ports: PortLike[] }) => void): void;
}

const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort;
if (!parentPort) throw new Error('the engine host must be started as an Electron utility process');

parentPort.once('message', ({ data, ports }) => {
  const port = ports[0];
  if (!isMessage<ConnectMessage>(data) || data.type !== 'connect' || !port) {
    process.exit(2);
  }
  const service = serveEngine(port, data.config);
  void service.closed.then(() => process.exit(0));
});
