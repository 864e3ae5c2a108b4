/** Ctrl+C on `npm run serve`: closes the server then the workbench once, and always exits. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { stopHandler } from '../../app/server/shutdown.js';

/** Resolves with the code `exit` is called with. */
function exitSpy() {
  let done!: (code: number) => void;
  const exited = new Promise<number>((resolve) => (done = resolve));
  return { exit: vi.fn((code: number) => done(code)), exited };
}

const savedExitCode = process.exitCode;
afterEach(() => {
  process.exitCode = savedExitCode;
  vi.restoreAllMocks();
});

describe('server: stopping', () => {
  it('closes the server, then the workbench, once however often it is asked, and exits with 0', async () => {
    const order: string[] = [];
    let finishServer!: () => void;
    const server = {
      close: vi.fn(() =>
        new Promise<void>((resolve) => (finishServer = resolve)).then(() => void order.push('server')),
      ),
    };
    const api = { close: vi.fn(async () => void order.push('api')) };
    const { exit, exited } = exitSpy();
    const stop = stopHandler(server, api, exit);
    stop();
    stop(); // a second Ctrl+C while closing
    finishServer();
    expect(await exited).toBe(0);
    stop();
    expect(order).toEqual(['server', 'api']);
    expect(server.close).toHaveBeenCalledTimes(1);
    expect(api.close).toHaveBeenCalledTimes(1);
    expect(exit).toHaveBeenCalledTimes(1);
  });

  it('a failing close is reported and still exits (with 1); the workbench closes even when the server fails', async () => {
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    const api = { close: vi.fn(async () => undefined) };
    const first = exitSpy();
    stopHandler({ close: () => Promise.reject(new Error('server close failed')) }, api, first.exit)();
    expect(await first.exited).toBe(1);
    expect(api.close).toHaveBeenCalledTimes(1);
    const second = exitSpy();
    stopHandler(
      { close: async () => undefined },
      { close: () => Promise.reject(new Error('database close failed')) },
      second.exit,
    )();
    expect(await second.exited).toBe(1);
    expect(stderr.mock.calls.map((c) => String(c[0]))).toEqual([
      'cka-workbench: error: server close failed\n',
      'cka-workbench: error: database close failed\n',
    ]);
  });
});
