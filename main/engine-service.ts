/**
 * The engine host's work, apart from how it was started (./engine-host.ts is the utilityProcess
 * entry; tests call this directly): one WorkbenchApi over the port main gave it — calls validated
 * and answered as envelopes (app/api/dispatch.ts), engine events forwarded, model runners started
 * through main (./runner-relay.ts). `close` ends the workbench cleanly, then says `closed`.
 */
import { dispatch } from '../app/api/dispatch.js';
import { createWorkbench, type Workbench } from '../app/api/workbench.js';
import { isMessage, type EngineConfig, type HostToMain, type MainToHost, type PortLike } from './engine-protocol.js';
import { runnerRelayClient } from './runner-relay.js';

export interface EngineService {
  api: Workbench;
  /** Resolves once the workbench is closed (after a `close` message or the port closing). */
  closed: Promise<void>;
}

export function serveEngine(port: PortLike, config: EngineConfig): EngineService {
  const send = (message: HostToMain) => port.postMessage(message);
  const relay = runnerRelayClient(send);
  const api = createWorkbench({
    dataDir: config.dataDir,
    runnerLauncher: relay.launcher,
    ...(config.modelsDir ? { modelsDir: config.modelsDir } : {}),
  });
  const stopEvents = api.subscribe((event) => send({ type: 'event', event }));
  // Modules load while the window opens; a failure here is met again, and reported, by the first call.
  void api.preload().catch(() => undefined);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      stopEvents();
      await api.close().catch(() => undefined);
      relay.failAll('the engine closed');
    })());

  let resolveClosed: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => (resolveClosed = resolve));

  port.on('message', ({ data }) => {
    if (!isMessage<MainToHost>(data)) return;
    if (relay.deliver(data)) return;
    if (data.type === 'invoke') {
      void dispatch(api, data.method, data.request).then((envelope) => send({ type: 'reply', id: data.id, envelope }));
    } else if (data.type === 'close') {
      void close().then(() => {
        send({ type: 'closed' });
        resolveClosed();
      });
    }
  });
  // Main went away without a word (it crashed or was killed): end the work in order all the same.
  port.on('close', () => void close().then(resolveClosed));
  port.start();
  return { api, closed };
}
