/**
 * Whether the event stream to the engine is up: the browser transport reports its WebSocket
 * opening and closing here (the Electron bridge never goes down). The connection banner and the
 * live progress read it (state/connection.svelte.ts).
 */
export type LinkState = 'up' | 'down';

let state: LinkState = 'up';
const listeners = new Set<(state: LinkState) => void>();

export function reportLink(next: LinkState): void {
  if (next === state) return;
  state = next;
  for (const listener of listeners) listener(next);
}

export function linkState(): LinkState {
  return state;
}

export function onLinkChange(listener: (state: LinkState) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
