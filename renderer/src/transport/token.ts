/**
 * The local server's access token in the browser. The printed URL carries it once (`?token=…`):
 * the page moves it into its session storage and drops it from the address, so it is neither in
 * the history nor in a bookmark, and a reload finds it again. Session storage belongs to one
 * origin — scheme, host and port — and one tab, so two workbenches on two ports never see each
 * other's token, and nothing carries it to another service on 127.0.0.1 (a cookie would: cookies
 * ignore ports). Requests send it as a header, the event socket as a subprotocol.
 */
const STORAGE_KEY = 'ckawb.token';

export interface TokenPlace {
  location: { href: string };
  history: { replaceState(data: unknown, unused: string, url: string): void };
  storage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
}

/** The token (taken from the address when it carries one), or null when the page has none. */
export function takeAccessToken(place: TokenPlace = browserPlace()): string | null {
  const url = new URL(place.location.href);
  const given = url.searchParams.get('token');
  if (given !== null) {
    if (given) place.storage.setItem(STORAGE_KEY, given);
    url.searchParams.delete('token');
    place.history.replaceState(null, '', `${url.pathname}${url.search}${url.hash}`);
  }
  return place.storage.getItem(STORAGE_KEY) || null;
}

function browserPlace(): TokenPlace {
  let storage: TokenPlace['storage'];
  try {
    storage = sessionStorage;
  } catch {
    // Storage turned off: keep the token for this page's life only (a reload then needs the URL again).
    const memory = new Map<string, string>();
    storage = { getItem: (k) => memory.get(k) ?? null, setItem: (k, v) => void memory.set(k, v) };
  }
  return { location, history, storage };
}

/** The page's token (the address is cleaned on the first call). */
export function accessToken(): string | null {
  return takeAccessToken();
}
