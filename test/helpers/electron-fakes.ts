/**
 * Stand-ins for Electron's utilityProcess and MessageChannelMain, for tests of the Electron shell
 * without the Electron binary. They keep Electron's shapes (MessagePortMain 'message' events carry
 * `{ data, ports }`, UtilityProcess 'message' carries the message itself, 'exit' a code) and do the
 * real work:
 *
 * - `new FakeMessageChannelMain()` is a node:worker_threads MessageChannel (structured clone,
 *   typed arrays intact);
 * - `fakeUtilityProcess.fork(path)` of the engine host runs ./main/engine-service.ts in this
 *   process, on the port it is given (as engine-host.ts does in a utility process);
 * - a fork of anything else starts a real Node child process (the model runner), whose
 *   `process.send` channel stands in for `process.parentPort`.
 */
import { EventEmitter } from 'node:events';
import { fork as forkNode, type ChildProcess } from 'node:child_process';
import { basename } from 'node:path';
import { MessageChannel, type MessagePort } from 'node:worker_threads';

/** Like Electron's MessagePortMain, messages wait in the port until `start()`. */
export class FakeMessagePortMain extends EventEmitter {
  private started = false;
  constructor(readonly port: MessagePort) {
    super();
    port.on('close', () => this.emit('close'));
  }
  postMessage(message: unknown): void {
    this.port.postMessage(message);
  }
  start(): void {
    if (this.started) return;
    this.started = true;
    this.port.on('message', (data: unknown) => this.emit('message', { data, ports: [] }));
  }
  close(): void {
    this.port.close();
  }
}

export class FakeMessageChannelMain {
  readonly port1: FakeMessagePortMain;
  readonly port2: FakeMessagePortMain;
  constructor() {
    const { port1, port2 } = new MessageChannel();
    this.port1 = new FakeMessagePortMain(port1);
    this.port2 = new FakeMessagePortMain(port2);
  }
}

interface ForkOptions {
  serviceName?: string;
  execArgv?: string[];
  env?: Record<string, string | undefined>;
  stdio?: string;
}

export interface ForkRecord {
  modulePath: string;
  options: ForkOptions;
  process: FakeUtilityProcess;
}

/** Every fork, in order: tests check what was started and how. */
export const forks: ForkRecord[] = [];

export class FakeUtilityProcess extends EventEmitter {
  pid: number | undefined;
  stdout = null;
  stderr: NodeJS.ReadableStream | null = null;
  private child: ChildProcess | null = null;
  private engine: { port: FakeMessagePortMain; closed: Promise<void> } | null = null;

  constructor(
    readonly modulePath: string,
    readonly options: ForkOptions,
  ) {
    super();
    if (basename(modulePath) === 'engine-host.js') {
      this.pid = process.pid;
      return;
    }
    const child = forkNode(modulePath, [], {
      execArgv: options.execArgv ?? [],
      env: Object.fromEntries(Object.entries(options.env ?? process.env).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >,
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', options.stdio === 'pipe' ? 'pipe' : 'inherit', 'ipc'],
    });
    this.child = child;
    this.pid = child.pid;
    this.stderr = child.stderr;
    child.on('message', (message) => this.emit('message', message));
    child.on('close', (code) => {
      this.pid = undefined;
      this.emit('exit', code ?? 1);
    });
  }

  postMessage(message: unknown, transfer: FakeMessagePortMain[] = []): void {
    if (this.child) {
      this.child.send(message as never);
      return;
    }
    // The engine host: its first message carries the port it serves.
    const port = transfer[0];
    if (!port || this.engine) return;
    const { config } = message as { config: { dataDir: string; modelsDir?: string } };
    const closed = import('../../main/engine-service.js').then(({ serveEngine }) => serveEngine(port, config).closed);
    this.engine = { port, closed };
    void closed.then(() => {
      this.pid = undefined;
      port.close();
      this.emit('exit', 0);
    });
  }

  kill(): boolean {
    if (this.child) return this.child.kill('SIGKILL');
    // An in-process engine cannot be killed: it is closed instead.
    this.engine?.port.close();
    return true;
  }
}

export const fakeUtilityProcess = {
  fork(modulePath: string, _args: string[] = [], options: ForkOptions = {}): FakeUtilityProcess {
    const process = new FakeUtilityProcess(modulePath, options);
    forks.push({ modulePath, options, process });
    return process;
  },
};
