/**
 * Main's handle on the engine host (./engine-host.ts): starts the utilityProcess on first use,
 * hands it a MessageChannelMain port, forwards API calls and relays the host's events and model
 * runners. Main only moves messages; it never computes.
 *
 * If the host dies (native crash, killed), every pending call fails with a message saying so, the
 * page is told, and the next call starts a fresh host — whose database marks the runs that were
 * going as interrupted (app/engine/store).
 */
import type { MessagePortMain, UtilityProcess } from 'electron';
import type { ApiEnvelope, WorkbenchEvent } from '../app/common/contract.js';
import { runnerTunables } from '../app/api/runner-prestart.js';
import type { ProcessLauncher } from '../app/api/workbench.js';
import { isMessage, type EngineConfig, type HostToMain, type MainToHost } from './engine-protocol.js';
import { serveRunnerRelay } from './runner-relay.js';

export interface EngineHostOptions {
  /** utilityProcess.fork (tests pass a fake). */
  fork: (
    modulePath: string,
    args: string[],
    options: { serviceName: string; stdio: 'inherit'; env: Record<string, string | undefined> },
  ) => UtilityProcess;
  /** new MessageChannelMain() (tests pass a fake). */
  channel: () => { port1: MessagePortMain; port2: MessagePortMain };
  /** The engine host entry (dist/main/engine-host.js). */
  entry: string;
  config: EngineConfig;
  /** How model runners are started for the host (the utilityProcess launcher). */
  runnerLauncher: ProcessLauncher;
  /** The app's root folder: runner entries must lie inside it. */
  appRoot: string;
  /** Events for the page (engine events, and a note when the host stopped). */
  onEvent: (event: WorkbenchEvent) => void;
  /** How long `close` waits for the workbench to end its runs before killing the host. */
  closeTimeoutMs?: number;
}

interface Host {
  process: UtilityProcess;
  port: MessagePortMain;
  relay: ReturnType<typeof serveRunnerRelay>;
  exited: Promise<void>;
  closedByUs: boolean;
}

export class EngineHost {
  private host: Host | null = null;
  private readonly pending = new Map<number, (envelope: ApiEnvelope<unknown>) => void>();
  private nextId = 1;
  private closing = false;

  constructor(private readonly options: EngineHostOptions) {}

  /** The host's process id (for diagnostics). */
  get pid(): number | undefined {
    return this.host?.process.pid;
  }

  /** Calls the API in the host; always resolves to an envelope. */
  invoke(method: string, request: unknown): Promise<ApiEnvelope<unknown>> {
    if (this.closing) {
      return Promise.resolve({ ok: false, error: { code: 'INTERNAL', message: 'the workbench is closing' } });
    }
    const host = this.ensure();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.send(host, { type: 'invoke', id, method, request });
    });
  }

  /** Starts the host now (it starts on the first call otherwise). */
  start(): void {
    this.ensure();
  }

  /** Lets the workbench end (runs record how they ended), then stops the host. */
  async close(): Promise<void> {
    this.closing = true;
    const host = this.host;
    if (!host) return;
    host.closedByUs = true;
    this.send(host, { type: 'close' });
    const timeout = new Promise<'timeout'>((resolve) =>
      setTimeout(() => resolve('timeout'), this.options.closeTimeoutMs ?? 10_000),
    );
    if ((await Promise.race([host.exited, timeout])) === 'timeout') host.process.kill();
    await host.exited;
  }

  private send(host: Host, message: MainToHost): void {
    host.port.postMessage(message);
  }

  private ensure(): Host {
    if (this.host) return this.host;
    const { fork, channel, entry, config } = this.options;
    const child = fork(entry, [], {
      serviceName: 'CKA engine',
      stdio: 'inherit',
      // The host computes, receives and saves Grams of tens of MB: glibc's malloc asks for huge
      // pages and keeps freed memory, as the CLI's commands that compute do
      // (app/api/huge-pages.mjs) and the runners.
      env: { ...process.env, GLIBC_TUNABLES: runnerTunables(process.env.GLIBC_TUNABLES) },
    });
    const { port1, port2 } = channel();
    let exitedResolve: () => void = () => undefined;
    const host: Host = {
      process: child,
      port: port1,
      relay: serveRunnerRelay((m) => this.send(host, m), this.options.runnerLauncher, this.options.appRoot),
      exited: new Promise<void>((resolve) => (exitedResolve = resolve)),
      closedByUs: false,
    };
    this.host = host;
    port1.on('message', ({ data }) => this.receive(host, data));
    port1.start();
    child.on('exit', (code) => {
      exitedResolve();
      this.lost(host, code);
    });
    child.postMessage({ type: 'connect', config }, [port2]);
    return host;
  }

  private receive(host: Host, data: unknown): void {
    if (!isMessage<HostToMain>(data)) return;
    if (host.relay.handle(data)) return;
    if (data.type === 'reply') {
      const resolve = this.pending.get(data.id);
      this.pending.delete(data.id);
      resolve?.(data.envelope);
    } else if (data.type === 'event') {
      this.options.onEvent(data.event);
    }
  }

  /** The host ended: fail what it had, end its runners, and start afresh on the next call. */
  private lost(host: Host, code: number): void {
    if (this.host !== host) return;
    this.host = null;
    host.relay.killAll();
    host.port.close();
    const message = `the engine process stopped unexpectedly (exit code ${code}); it restarts with the next request, and runs it was doing are marked interrupted`;
    for (const resolve of this.pending.values()) resolve({ ok: false, error: { code: 'INTERNAL', message } });
    this.pending.clear();
    if (!host.closedByUs && !this.closing) this.options.onEvent({ type: 'log', level: 'error', message });
  }
}
