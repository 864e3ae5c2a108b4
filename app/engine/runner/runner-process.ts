/**
 * One supervised model-runner process: started on first use, requests answered in order, and a
 * typed error instead of a hang or a crash of the host —
 *
 *  - the process exits or is killed by a signal while a request is pending → RUNTIME, naming the
 *    model and how the process ended (plus the last line it wrote to stderr);
 *  - a request takes longer than its timeout → the process is killed, TIMEOUT;
 *  - the caller's AbortSignal fires mid-request → the process is killed (onnxruntime cannot be
 *    interrupted inside a run), CANCELLED.
 *
 * In each case the sessions that lived in the process are gone (`generation` changes) and the next
 * request starts a fresh process.
 */
import type { WorkbenchErrorData } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { NodeEntry } from '../runtime/node-entry.js';
import type { ProcessLauncher, RunnerChannel } from './launcher.js';
import { isReadyMessage, isRunnerReply, type RunnerRequest } from './protocol.js';

export interface RequestOptions {
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** The model file the request is about, for messages. */
  model: string;
  /** What the request does, for messages: "loading the model", "running batch 3". */
  doing: string;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: WorkbenchError): void;
  options: RequestOptions;
}

type DistributiveOmit<T, K extends keyof never> = T extends unknown ? Omit<T, K> : never;
export type RequestBody = DistributiveOmit<RunnerRequest, 'id'>;

const STDERR_TAIL_LINES = 5;

export interface RunnerProcessOptions {
  launcher: ProcessLauncher;
  entry: NodeEntry;
  env?: Record<string, string>;
  /** How long a fresh process may take to say it is ready. */
  startTimeoutMs?: number;
}

export class RunnerProcess {
  private channel: RunnerChannel | null = null;
  private starting: Promise<RunnerChannel> | null = null;
  /** The process being started (not ready yet) and how to fail its start. */
  private spawning: { channel: RunnerChannel; abort(reason: WorkbenchError): void } | null = null;
  private closed = false;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private stderrTail: string[] = [];
  /** Increments each time a process ends: sessions opened in an earlier generation are gone. */
  generation = 0;

  constructor(private readonly options: RunnerProcessOptions) {}

  get pid(): number | undefined {
    return this.channel?.pid;
  }

  async request<T>(body: RequestBody, options: RequestOptions): Promise<T> {
    if (this.closed) throw shutDown();
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
    const channel = await this.start(options);
    // Killed between becoming ready and this line: the channel is dead.
    if (this.closed || this.channel !== channel) throw shutDown();
    if (options.signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
    const id = this.nextId++;
    const generation = this.generation;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.failProcess(
          new WorkbenchError(
            'TIMEOUT',
            `${options.model}: ${options.doing} took longer than ${formatSeconds(options.timeoutMs)}; the model runner was stopped`,
          ),
        );
      }, options.timeoutMs);
      const onAbort = () => this.failProcess(new WorkbenchError('CANCELLED', 'cancelled'), id);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      const settle = () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        if (this.pending.size === 0 && this.generation === generation) this.channel?.unref?.();
      };
      this.pending.set(id, {
        options,
        resolve: (value) => {
          settle();
          resolve(value as T);
        },
        reject: (err) => {
          settle();
          reject(err);
        },
      });
      channel.ref?.();
      try {
        channel.postMessage({ ...body, id } as RunnerRequest);
      } catch (err) {
        this.failProcess(
          new WorkbenchError('RUNTIME', `${options.model}: could not reach the model runner (${String(err)})`),
        );
      }
    });
  }

  /** Ends the process (if any, also one still starting); pending requests fail with `reason`. */
  kill(reason = shutDown()): void {
    const spawning = this.spawning;
    this.spawning = null;
    if (spawning) {
      spawning.channel.kill();
      spawning.abort(reason);
    }
    this.failProcess(reason);
  }

  /** Kills the process for good: later requests fail with CANCELLED instead of starting another. */
  close(): void {
    this.closed = true;
    this.kill();
  }

  private start(options: RequestOptions): Promise<RunnerChannel> {
    if (this.channel) return Promise.resolve(this.channel);
    this.starting ??= this.spawn(options).finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  private spawn(options: RequestOptions): Promise<RunnerChannel> {
    this.stderrTail = [];
    const channel = this.options.launcher.spawn(this.options.entry, { env: this.options.env ?? {} });
    channel.stderr?.setEncoding('utf8');
    channel.stderr?.on('data', (chunk: string) => {
      const lines = [...this.stderrTail, ...chunk.split('\n').filter(isMessageLine)];
      this.stderrTail = lines.slice(-STDERR_TAIL_LINES);
    });
    return new Promise<RunnerChannel>((resolve, reject) => {
      let ready = false;
      let aborted = false;
      const startTimeoutMs = this.options.startTimeoutMs ?? 60_000;
      const timer = setTimeout(() => {
        if (this.spawning?.channel === channel) this.spawning = null;
        channel.kill();
        reject(new WorkbenchError('TIMEOUT', `the model runner did not start within ${formatSeconds(startTimeoutMs)}`));
      }, startTimeoutMs);
      this.spawning = {
        channel,
        abort: (reason) => {
          aborted = true;
          clearTimeout(timer);
          reject(reason);
        },
      };
      channel.on('message', (message) => {
        if (aborted) return; // killed while starting: a late 'ready' must not bring it back
        if (!ready && isReadyMessage(message)) {
          ready = true;
          clearTimeout(timer);
          if (this.spawning?.channel === channel) this.spawning = null;
          this.channel = channel;
          resolve(channel);
          return;
        }
        if (isRunnerReply(message)) this.settle(message.id, message);
      });
      channel.on('error', (err) => {
        if (ready) {
          const fail = () => {
            if (this.channel !== channel) return; // ended (and reported) or replaced meanwhile
            this.failProcess(
              new WorkbenchError('RUNTIME', `${options.model}: the model runner failed (${err.message})`),
            );
          };
          // A request sent to a process that is dying (its end of the pipe already closed): its
          // exit, which follows, says how it ended — a crash is reported as one, not as EPIPE.
          if (isClosedPipe(err)) setTimeout(fail, EXIT_AFTER_PIPE_MS).unref?.();
          else fail();
          return;
        }
        clearTimeout(timer);
        if (this.spawning?.channel === channel) this.spawning = null;
        reject(new WorkbenchError('RUNTIME', `the model runner could not be started: ${err.message}`));
      });
      channel.on('exit', (code, signal) => {
        if (!ready) {
          clearTimeout(timer);
          if (this.spawning?.channel === channel) this.spawning = null;
          reject(
            new WorkbenchError('RUNTIME', `the model runner exited while starting (${this.howItEnded(code, signal)})`),
          );
          return;
        }
        if (this.channel !== channel) return; // already failed and replaced
        this.channel = null;
        this.generation++;
        this.rejectAll((pending) => {
          const { model, doing } = pending.options;
          return new WorkbenchError(
            'RUNTIME',
            `${model}: the model runner crashed while ${doing} (${this.howItEnded(code, signal)})`,
          );
        });
      });
    });
  }

  private settle(id: number, reply: { ok: true; value: unknown } | { ok: false; error: WorkbenchErrorData }): void {
    const pending = this.pending.get(id);
    if (!pending) return;
    if (reply.ok) pending.resolve(reply.value);
    else pending.reject(new WorkbenchError(reply.error.code, reply.error.message, reply.error.details));
  }

  /** Kills the process; the request `only` (or every pending one) fails with `error`, others with a note. */
  private failProcess(error: WorkbenchError, only?: number): void {
    const channel = this.channel;
    this.channel = null;
    if (channel) {
      this.generation++;
      channel.kill();
    }
    this.rejectAll((_pending, id) =>
      only === undefined || id === only
        ? error
        : new WorkbenchError('RUNTIME', 'the model runner was stopped because another request on it was cancelled'),
    );
  }

  private rejectAll(errorFor: (pending: Pending, id: number) => WorkbenchError): void {
    for (const [id, pending] of [...this.pending]) pending.reject(errorFor(pending, id));
  }

  private howItEnded(code: number | null, signal: NodeJS.Signals | null | undefined): string {
    const how = signal ? `killed by ${signal}` : `exit code ${code ?? 'unknown'}`;
    const last = this.stderrTail[this.stderrTail.length - 1];
    return last ? `${how}; last message: ${last.trim().slice(0, 300)}` : how;
  }
}

/** How long a closed pipe may go without the exit that explains it. */
const EXIT_AFTER_PIPE_MS = 5_000;

function isClosedPipe(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'EPIPE' || code === 'ECONNRESET' || code === 'ERR_IPC_CHANNEL_CLOSED';
}

/** Stderr lines worth quoting: not blank, not frames of a native or JS stack trace. */
function isMessageLine(line: string): boolean {
  const text = line.trim();
  return text.length > 0 && !/^(\d+:\s|at\s|-{3,}|=+)/.test(text) && !/native stack trace/i.test(text);
}

function shutDown(): WorkbenchError {
  return new WorkbenchError('CANCELLED', 'the model runner was shut down');
}

function formatSeconds(ms: number): string {
  return ms < 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 1000)} s`;
}
