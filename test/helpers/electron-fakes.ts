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

type Listener = (...args: unknown[]) => unknown;

/**
 * The rest of a fake `electron` module for tests that run the real main/main.ts: app, windows,
 * menus, dialogs, IPC, session, protocol and net, recording what main.ts does with them in
 * `electronRecord`. `app.quit()` emits before-quit as Electron does. Use it from a test file as
 *   vi.mock('electron', async () => (await import('../helpers/electron-fakes.js')).fakeElectronModule());
 * and read `electronRecord` (the same instance: one module graph per test file).
 */
function createFakeElectron() {
  const listeners = (store: Map<string, Listener[]>) => ({
    on(event: string, listener: Listener) {
      store.set(event, [...(store.get(event) ?? []), listener]);
      return this;
    },
    once(event: string, listener: Listener) {
      store.set(event, [...(store.get(event) ?? []), listener]);
      return this;
    },
  });
  const record = {
    appEvents: new Map<string, Listener[]>(),
    sessionEvents: new Map<string, Listener[]>(),
    windows: [] as { options: Record<string, unknown>; url?: string; events: Map<string, Listener[]> }[],
    schemes: [] as unknown[],
    protocolHandlers: new Map<string, (request: Request) => Promise<Response>>(),
    ipcHandlers: new Map<string, Listener>(),
    permissionRequest: null as Listener | null,
    permissionCheck: null as Listener | null,
    menus: [] as unknown[],
    recentDocuments: [] as string[],
    /** app.quit() calls whose before-quit no listener prevented: the app really quitting. */
    quits: 0,
  };
  let resolveReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (resolveReady = resolve));

  class BrowserWindow {
    webContents: Record<string, unknown>;
    private record: (typeof record.windows)[number];
    constructor(options: Record<string, unknown>) {
      const events = new Map<string, Listener[]>();
      this.record = { options, events };
      record.windows.push(this.record);
      this.webContents = { ...listeners(events), send: () => undefined };
      Object.assign(this, listeners(events));
    }
    loadURL(url: string) {
      this.record.url = url;
      return Promise.resolve();
    }
    maximize() {}
    show() {}
    isDestroyed() {
      return false;
    }
    isMaximized() {
      return false;
    }
    getNormalBounds() {
      return { x: 0, y: 0, width: 1440, height: 900 };
    }
  }

  const module = {
    app: {
      ...listeners(record.appEvents),
      requestSingleInstanceLock: () => true,
      // As Electron does: quit() emits before-quit, which a listener may prevent.
      quit: () => {
        let prevented = false;
        for (const listener of record.appEvents.get('before-quit') ?? []) {
          listener({ preventDefault: () => (prevented = true) });
        }
        if (!prevented) record.quits++;
      },
      whenReady: () => ready,
      addRecentDocument: (path: string) => record.recentDocuments.push(path),
      clearRecentDocuments: () => (record.recentDocuments.length = 0),
      isPackaged: false,
    },
    BrowserWindow,
    Menu: {
      buildFromTemplate: (template: unknown) => ({ template }),
      setApplicationMenu: (menu: unknown) => record.menus.push(menu),
    },
    dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }) },
    ipcMain: { handle: (channel: string, handler: Listener) => record.ipcHandlers.set(channel, handler) },
    screen: { getAllDisplays: () => [{ workArea: { x: 0, y: 0, width: 1920, height: 1080 } }] },
    session: {
      defaultSession: {
        ...listeners(record.sessionEvents),
        setPermissionRequestHandler: (handler: Listener) => (record.permissionRequest = handler),
        setPermissionCheckHandler: (handler: Listener) => (record.permissionCheck = handler),
      },
    },
    protocol: {
      registerSchemesAsPrivileged: (schemes: unknown[]) => record.schemes.push(...schemes),
      handle: (scheme: string, handler: (request: Request) => Promise<Response>) =>
        record.protocolHandlers.set(scheme, handler),
    },
    // The app protocol reads its files through net.fetch(file://…).
    net: {
      fetch: async (url: string) => {
        const path = new URL(url);
        const { readFile } = await import('node:fs/promises');
        try {
          return new Response(await readFile(path), { status: 200, headers: { 'Content-Type': 'text/html' } });
        } catch {
          return new Response('missing', { status: 404 });
        }
      },
    },
  };
  return { record, module, resolveReady };
}

const fake = createFakeElectron();
export const electronRecord = fake.record;
/** Lets main.ts's `app.whenReady()` resolve. */
export const resolveElectronReady = (): void => fake.resolveReady();

export function fakeElectronModule(): Record<string, unknown> {
  const module = { ...fake.module, utilityProcess: fakeUtilityProcess, MessageChannelMain: FakeMessageChannelMain };
  return { ...module, default: module };
}
