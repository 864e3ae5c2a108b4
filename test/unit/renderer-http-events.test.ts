/**
 * The browser transport's event stream (renderer/src/transport/http.ts) against a fake WebSocket:
 * one socket at a time however subscriptions and reconnects interleave, a reconnect announced to
 * listeners (events sent meanwhile were lost), and frames that are not JSON ignored.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WorkbenchEvent } from '../../app/common/contract.js';
import { httpSubscribe } from '../../renderer/src/transport/http.js';

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((message: { data: unknown }) => void) | null = null;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  /** What the browser does when the connection is made, or lost. */
  open() {
    this.onopen?.();
  }
  drop() {
    this.closed = true;
    this.onclose?.();
  }
  receive(data: string) {
    this.onmessage?.({ data });
  }
}

const live = () => FakeSocket.all.filter((s) => !s.closed);

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
  vi.stubGlobal('WebSocket', FakeSocket);
  vi.stubGlobal('location', { protocol: 'http:', host: '127.0.0.1:5757' });
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('browser event stream', () => {
  it('opens one socket for all listeners and delivers each event once to each', () => {
    const subscribe = httpSubscribe();
    const a: WorkbenchEvent[] = [];
    const b: WorkbenchEvent[] = [];
    subscribe((e) => a.push(e));
    subscribe((e) => b.push(e));
    expect(FakeSocket.all.map((s) => s.url)).toEqual(['ws://127.0.0.1:5757/api/events']);
    FakeSocket.all[0]!.open();
    const event: WorkbenchEvent = { type: 'log', level: 'info', message: 'hello' };
    FakeSocket.all[0]!.receive(JSON.stringify(event));
    expect(a).toEqual([event]);
    expect(b).toEqual([event]);
  });

  it('a subscription during the reconnect backoff does not leave a second socket open', () => {
    const subscribe = httpSubscribe();
    const seen: WorkbenchEvent[] = [];
    subscribe((e) => seen.push(e));
    FakeSocket.all[0]!.open();
    FakeSocket.all[0]!.drop(); // the server went away: a reconnect is scheduled
    subscribe(() => undefined); // a view subscribes meanwhile: it opens one at once
    expect(live()).toHaveLength(1);
    vi.advanceTimersByTime(60_000); // the scheduled reconnect must not open another
    expect(live()).toHaveLength(1);
    live()[0]!.open();
    live()[0]!.receive(JSON.stringify({ type: 'log', level: 'info', message: 'once' }));
    expect(seen.filter((e) => e.type === 'log' && e.message === 'once')).toHaveLength(1);
  });

  it('reconnects with backoff and then tells listeners that events may have been missed', () => {
    const subscribe = httpSubscribe();
    const seen: WorkbenchEvent[] = [];
    subscribe((e) => seen.push(e));
    FakeSocket.all[0]!.open();
    expect(seen).toEqual([]); // the first connection is no reconnect
    FakeSocket.all[0]!.drop();
    vi.advanceTimersByTime(999);
    expect(FakeSocket.all).toHaveLength(1);
    vi.advanceTimersByTime(1); // 500 ms doubled
    expect(FakeSocket.all).toHaveLength(2);
    FakeSocket.all[1]!.open();
    expect(seen).toEqual([
      { type: 'log', level: 'warn', message: 'reconnected to the workbench server; rereading the history' },
    ]);
  });

  it('ignores frames that are not JSON', () => {
    const subscribe = httpSubscribe();
    const seen: WorkbenchEvent[] = [];
    subscribe((e) => seen.push(e));
    FakeSocket.all[0]!.open();
    expect(() => FakeSocket.all[0]!.receive('not json')).not.toThrow();
    FakeSocket.all[0]!.receive(JSON.stringify({ type: 'log', level: 'info', message: 'after' }));
    expect(seen).toEqual([{ type: 'log', level: 'info', message: 'after' }]);
  });
});
