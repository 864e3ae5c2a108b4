/**
 * The browser transport's event stream (renderer/src/transport/http.ts) against a fake WebSocket:
 * one socket at a time however subscriptions and reconnects interleave, a reconnect announced to
 * listeners (events sent meanwhile were lost), and frames that are not JSON ignored. And where the
 * access token lives (transport/token.ts): taken from the address into session storage, the address
 * cleaned, sent as a subprotocol and a header, never in a URL.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WorkbenchEvent } from '../../app/common/contract.js';
import { httpInvoke, httpSubscribe } from '../../renderer/src/transport/http.js';
import { takeAccessToken, type TokenPlace } from '../../renderer/src/transport/token.js';

class FakeSocket {
  static all: FakeSocket[] = [];
  onmessage: ((message: { data: unknown }) => void) | null = null;
  onopen: (() => void) | null = null;
  onclose: (() => void) | null = null;
  closed = false;
  constructor(
    readonly url: string,
    readonly protocols?: string[],
  ) {
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
  const storage = new Map<string, string>([['ckawb.token', 'T0KEN']]);
  vi.stubGlobal('location', { protocol: 'http:', host: '127.0.0.1:5757', href: 'http://127.0.0.1:5757/#/runs' });
  vi.stubGlobal('history', { replaceState: () => undefined });
  vi.stubGlobal('sessionStorage', {
    getItem: (k: string) => storage.get(k) ?? null,
    setItem: (k: string, v: string) => void storage.set(k, v),
  });
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

  it('authenticates with the token as a subprotocol, never in the URL', () => {
    httpSubscribe()(() => undefined);
    expect(FakeSocket.all[0]!.url).toBe('ws://127.0.0.1:5757/api/events');
    expect(FakeSocket.all[0]!.protocols).toEqual(['ckawb.events', 'ckawb.token.T0KEN']);
  });
});

describe('the access token in the browser', () => {
  function place(href: string, stored: Record<string, string> = {}) {
    const storage = new Map(Object.entries(stored));
    const addresses: string[] = [];
    const p: TokenPlace = {
      location: { href },
      history: { replaceState: (_d, _u, url) => void addresses.push(url) },
      storage: { getItem: (k) => storage.get(k) ?? null, setItem: (k, v) => void storage.set(k, v) },
    };
    return { p, storage, addresses };
  }

  it('moves ?token= into session storage and drops it from the address, keeping the rest', () => {
    const { p, storage, addresses } = place('http://127.0.0.1:5757/?token=abc-DEF_1&x=1#/runs/7');
    expect(takeAccessToken(p)).toBe('abc-DEF_1');
    expect(storage.get('ckawb.token')).toBe('abc-DEF_1');
    expect(addresses).toEqual(['/?x=1#/runs/7']);
  });

  it('finds it again after a reload, and a new printed URL replaces it; without either there is none', () => {
    const reload = place('http://127.0.0.1:5757/#/models', { 'ckawb.token': 'kept' });
    expect(takeAccessToken(reload.p)).toBe('kept');
    expect(reload.addresses).toEqual([]);
    const fresh = place('http://127.0.0.1:5757/?token=new', { 'ckawb.token': 'old' });
    expect(takeAccessToken(fresh.p)).toBe('new');
    expect(takeAccessToken(place('http://127.0.0.1:5757/').p)).toBeNull();
  });

  it('sends API calls with the token in the Authorization header and no credentials', async () => {
    const calls: { url: string; init: RequestInit }[] = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      return { json: async () => ({ ok: true, value: 1 }), status: 200 };
    });
    expect(await httpInvoke('appInfo', {})).toEqual({ ok: true, value: 1 });
    expect(calls[0]!.url).toBe('api/appInfo');
    expect(calls[0]!.init.headers).toMatchObject({ Authorization: 'Bearer T0KEN' });
    expect(calls[0]!.init.credentials).toBe('omit');
  });
});
