/**
 * Browser transport: `POST /api/<method>` with the access token in a header, and a WebSocket for
 * events (the token in a subprotocol; reconnecting with backoff). See ./token.ts for where the
 * token lives.
 */
import type { ApiEnvelope, WorkbenchEvent } from '@common/contract.js';
import type { Invoke, Subscribe } from './client.js';
import { accessToken } from './token.js';

/** The event socket's subprotocol, and the prefix of the one that carries the token (app/server/auth.ts). */
const EVENTS_PROTOCOL = 'ckawb.events';
const TOKEN_PROTOCOL_PREFIX = 'ckawb.token.';

function authorization(): Record<string, string> {
  const token = accessToken();
  return token ? { Authorization: `Bearer ${token}` } : {};
}
import { reportLink } from './link-state.js';

export const httpInvoke: Invoke = async (method, request) => {
  let response: Response;
  try {
    response = await fetch(`api/${encodeURIComponent(method)}`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...authorization() },
      body: JSON.stringify(request),
      credentials: 'omit',
    });
  } catch {
    return { ok: false, error: { code: 'INTERNAL', message: 'the workbench server is not reachable' } };
  }
  try {
    return (await response.json()) as ApiEnvelope<unknown>;
  } catch {
    return {
      ok: false,
      error: { code: 'INTERNAL', message: `the server answered ${response.status} without a result` },
    };
  }
};

/**
 * Events over one WebSocket, reopened with backoff while anyone listens. Events sent while it was
 * down are lost: after a reconnect listeners get a `warn` log saying so, on which the app rereads
 * the history (App.svelte).
 */
export function httpSubscribe(): Subscribe {
  const listeners = new Set<(event: WorkbenchEvent) => void>();
  let socket: WebSocket | null = null;
  let reopen: ReturnType<typeof setTimeout> | null = null;
  let retry = 500;
  let opened = false;
  const emit = (event: WorkbenchEvent) => {
    for (const listener of listeners) listener(event);
  };
  const open = () => {
    if (reopen !== null) clearTimeout(reopen);
    reopen = null;
    if (socket) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const token = accessToken();
    socket = new WebSocket(`${scheme}://${location.host}/api/events`, [
      EVENTS_PROTOCOL,
      ...(token ? [`${TOKEN_PROTOCOL_PREFIX}${token}`] : []),
    ]);
    socket.onmessage = (message) => {
      let event: WorkbenchEvent;
      try {
        event = JSON.parse(String(message.data)) as WorkbenchEvent;
      } catch {
        return; // not ours: the server sends JSON only
      }
      emit(event);
    };
    socket.onopen = () => {
      retry = 500;
      reportLink('up');
      if (opened) {
        emit({ type: 'log', level: 'warn', message: 'reconnected to the workbench server; rereading the history' });
      }
      opened = true;
    };
    socket.onclose = () => {
      socket = null;
      reportLink('down');
      if (listeners.size > 0) reopen = setTimeout(open, (retry = Math.min(retry * 2, 10_000)));
    };
  };
  return (listener) => {
    listeners.add(listener);
    if (!socket) open();
    return () => listeners.delete(listener);
  };
}

/** Streams a picked or dropped file to the server, which stores it and returns its path. */
export async function uploadModel(file: File): Promise<string> {
  const response = await fetch(`api/upload?name=${encodeURIComponent(file.name)}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/octet-stream', ...authorization() },
    body: file,
    credentials: 'omit',
  });
  const envelope = (await response.json()) as ApiEnvelope<{ path: string }>;
  if (!envelope.ok) throw new Error(envelope.error.message);
  return envelope.value.path;
}
