/**
 * Model runners for a workbench that lives in a utility process. Only Electron's main process can
 * start a utilityProcess, so the engine host's launcher asks main to (`runner-spawn`) and main
 * relays the runner's messages, stderr and exit over the host's port. Large replies never take
 * this path: the runner writes them to spill files (app/engine/runner/spill.ts).
 *
 *   host: createWorkbench({ runnerLauncher: relay.launcher })   main: serveRunnerRelay(port, launcher)
 */
import { PassThrough } from 'node:stream';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import type { ProcessLauncher, RunnerChannel } from '../app/api/workbench.js';
import type { HostToMain, MainToHost, RunnerSpawnRequest } from './engine-protocol.js';

type Listener = (...args: never[]) => void;

interface RelayedChannel {
  listeners: { message: Listener[]; exit: Listener[]; error: Listener[] };
  stderr: PassThrough;
  exited: boolean;
}

/** The host's side: a ProcessLauncher whose processes main starts; `deliver` takes main's runner-* messages. */
export function runnerRelayClient(send: (message: HostToMain) => void): {
  launcher: ProcessLauncher;
  deliver(message: MainToHost): boolean;
  /** Every relayed runner has ended (the link to main broke). */
  failAll(reason: string): void;
} {
  const channels = new Map<number, RelayedChannel>();
  let next = 1;

  const emit = (ch: RelayedChannel, event: keyof RelayedChannel['listeners'], ...args: unknown[]) => {
    for (const listener of ch.listeners[event]) (listener as (...a: unknown[]) => void)(...args);
  };
  const end = (id: number, code: number | null) => {
    const ch = channels.get(id);
    if (!ch || ch.exited) return;
    ch.exited = true;
    ch.stderr.end();
    channels.delete(id);
    // After stderr has drained, as the Node launcher's 'close' does: crash messages see its last line.
    setImmediate(() => emit(ch, 'exit', code, null));
  };

  const launcher: ProcessLauncher = {
    spawn(entry, options) {
      const id = next++;
      const ch: RelayedChannel = {
        listeners: { message: [], exit: [], error: [] },
        stderr: new PassThrough(),
        exited: false,
      };
      channels.set(id, ch);
      send({ type: 'runner-spawn', channel: id, file: entry.file, execArgv: entry.execArgv, env: options.env });
      const channel: RunnerChannel = {
        postMessage: (message) => send({ type: 'runner-post', channel: id, message }),
        on: (event: 'message' | 'exit' | 'error', listener: Listener) => void ch.listeners[event].push(listener),
        kill: () => send({ type: 'runner-kill', channel: id }),
        pid: undefined,
        stderr: ch.stderr,
      };
      return channel;
    },
  };

  return {
    launcher,
    deliver(message) {
      switch (message.type) {
        case 'runner-message': {
          const ch = channels.get(message.channel);
          if (ch) emit(ch, 'message', message.message);
          return true;
        }
        case 'runner-stderr':
          channels.get(message.channel)?.stderr.write(message.chunk);
          return true;
        case 'runner-error': {
          const ch = channels.get(message.channel);
          if (ch) emit(ch, 'error', new Error(message.message));
          return true;
        }
        case 'runner-exit':
          end(message.channel, message.code);
          return true;
        default:
          return false;
      }
    },
    failAll(reason) {
      for (const [id, ch] of [...channels]) {
        emit(ch, 'error', new Error(reason));
        end(id, null);
      }
    },
  };
}

/** Main's check of a spawn request: only the engine's own runner entry, our loader, our variables. */
export function checkSpawnRequest(request: RunnerSpawnRequest, appRoot: string): string | null {
  const file = resolve(request.file);
  const inside = relative(resolve(appRoot), file);
  if (!isAbsolute(request.file) || inside.startsWith('..') || isAbsolute(inside)) {
    return `the runner entry ${request.file} is outside the app`;
  }
  if (!/^(dist\/)?app\/engine\/runner\/child\.(js|ts)$/.test(inside.split(sep).join('/'))) {
    return `${request.file} is not the model runner's entry`;
  }
  const argv = request.execArgv;
  const loaderOnly =
    argv.length === 0 || (argv.length === 2 && argv[0] === '--import' && /[\\/]tsx[\\/]/.test(argv[1]!));
  if (!loaderOnly) return `unexpected runner options: ${argv.join(' ')}`;
  const badKey = Object.keys(request.env).find((key) => !/^CKA_[A-Z0-9_]+$/.test(key));
  if (badKey) return `unexpected runner environment variable ${badKey}`;
  return null;
}

/** Main's side: starts runners for the host with `launcher` and relays their traffic. */
export function serveRunnerRelay(
  send: (message: MainToHost) => void,
  launcher: ProcessLauncher,
  appRoot: string,
): { handle(message: HostToMain): boolean; killAll(): void } {
  const children = new Map<number, RunnerChannel>();
  return {
    handle(message) {
      switch (message.type) {
        case 'runner-spawn': {
          const problem = checkSpawnRequest(message, appRoot);
          if (problem) {
            send({ type: 'runner-error', channel: message.channel, message: problem });
            send({ type: 'runner-exit', channel: message.channel, code: null });
            return true;
          }
          let child: RunnerChannel;
          try {
            child = launcher.spawn({ file: message.file, execArgv: message.execArgv }, { env: message.env });
          } catch (err) {
            send({ type: 'runner-error', channel: message.channel, message: (err as Error).message });
            send({ type: 'runner-exit', channel: message.channel, code: null });
            return true;
          }
          const id = message.channel;
          children.set(id, child);
          child.on('message', (m) => send({ type: 'runner-message', channel: id, message: m }));
          child.on('error', (err) => send({ type: 'runner-error', channel: id, message: err.message }));
          child.on('exit', (code) => {
            children.delete(id);
            send({ type: 'runner-exit', channel: id, code });
          });
          child.stderr?.setEncoding('utf8');
          child.stderr?.on('data', (chunk: string) => send({ type: 'runner-stderr', channel: id, chunk }));
          return true;
        }
        case 'runner-post':
          children.get(message.channel)?.postMessage(message.message);
          return true;
        case 'runner-kill':
          children.get(message.channel)?.kill();
          return true;
        default:
          return false;
      }
    },
    killAll() {
      for (const child of children.values()) child.kill();
      children.clear();
    },
  };
}
