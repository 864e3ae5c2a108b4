/**
 * The page's connection to the engine as views show it: `live`, `reconnecting` (the event stream
 * is down: the server stopped, or the network between), or `new-token` (the server answers again
 * but refuses this page's token: it was restarted, and each start makes a new token). While not
 * live, progress on screen is the last known, not live.
 */
import type { WorkbenchApi } from '@common/contract';
import { ApiError } from '../transport/client';
import { linkState, onLinkChange } from '../transport/link-state';

export type ConnectionState = 'live' | 'reconnecting' | 'new-token';

/** How often the server is asked whether it is back (and with which token) while the stream is down. */
const PROBE_MS = 1500;

class Connection {
  state = $state<ConnectionState>('live');

  get live(): boolean {
    return this.state === 'live';
  }

  /** Follows the transport's link and, while it is down, asks the server what became of it. */
  watch(api: WorkbenchApi): () => void {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const probe = async () => {
      timer = null;
      try {
        await api.appInfo({});
      } catch (err) {
        if (err instanceof ApiError && err.code === 'UNAUTHORIZED') this.state = 'new-token';
      }
      if (linkState() === 'down') timer = setTimeout(() => void probe(), PROBE_MS);
    };
    const follow = (link: 'up' | 'down') => {
      if (link === 'up') {
        if (timer !== null) clearTimeout(timer);
        timer = null;
        this.state = 'live';
      } else {
        if (this.state === 'live') this.state = 'reconnecting';
        if (timer === null) void probe();
      }
    };
    follow(linkState());
    const stop = onLinkChange(follow);
    return () => {
      stop();
      if (timer !== null) clearTimeout(timer);
    };
  }
}

export const connection = new Connection();
