/**
 * Entry point of the model-runner process: where untrusted models are loaded and run, so that an
 * onnxruntime crash ends this process and not the app. Started by
 * ./runner-process.ts through a ProcessLauncher: a Node child process (`fork`, IPC with
 * `serialization: 'advanced'`) or an Electron utilityProcess (`process.parentPort`).
 *
 * Requests are handled one at a time, in order; see ./protocol.ts.
 */
import { toErrorData } from '../../common/errors.js';
import { TEST_HOOKS_ENV, type ReadyMessage, type RunnerReply, type RunnerRequest } from './protocol.js';
import { SessionHost } from './session-host.js';

interface ParentChannel {
  post(message: RunnerReply | ReadyMessage): void;
  onMessage(listener: (message: unknown) => void): void;
}

interface ElectronParentPort {
  on(event: 'message', listener: (event: { data: unknown }) => void): void;
  postMessage(message: unknown): void;
}

function parentChannel(): ParentChannel {
  const port = (process as unknown as { parentPort?: ElectronParentPort }).parentPort;
  if (port) {
    return { post: (m) => port.postMessage(m), onMessage: (l) => port.on('message', (e) => l(e.data)) };
  }
  if (!process.send) throw new Error('the model runner must be started with an IPC channel');
  // The host going away (crash, kill) closes the channel: nothing is left to serve.
  process.on('disconnect', () => process.exit(0));
  return { post: (m) => process.send!(m), onMessage: (l) => process.on('message', l) };
}

function runTestHook(action: 'abort' | 'hang' | 'exit'): void {
  if (action === 'abort') process.abort();
  if (action === 'exit') process.exit(3);
  // A busy loop, like a native call that never returns: the event loop is blocked for good.
  for (;;) Date.now();
}

const host = new SessionHost();
const channel = parentChannel();
let queue: Promise<void> = Promise.resolve();

async function handle(request: RunnerRequest): Promise<unknown> {
  switch (request.type) {
    case 'open':
      return host.open(request);
    case 'run':
      return host.run(request);
    case 'close':
      return host.close(request.session);
    case 'debug':
      if (process.env[TEST_HOOKS_ENV] !== '1') throw new Error('test hooks are disabled');
      return runTestHook(request.action);
  }
}

channel.onMessage((message) => {
  const request = message as RunnerRequest;
  queue = queue.then(async () => {
    try {
      const value = await handle(request);
      channel.post({ id: request.id, ok: true, value });
    } catch (err) {
      channel.post({ id: request.id, ok: false, error: toErrorData(err) });
    }
  });
});

channel.post({ type: 'ready', pid: process.pid });
