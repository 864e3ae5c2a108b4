/**
 * What Ctrl+C (SIGINT/SIGTERM) does to `npm run serve`: stop serving, close the workbench (runs
 * become interrupted, the database closes), exit. It runs once — a second Ctrl+C while closing
 * does not close again — and it always exits: with 1 and the error on stderr when closing failed.
 */
import { reportError } from './report-error.js';

interface Closable {
  close(): Promise<void>;
}

export function stopHandler(server: Closable, api: Closable, exit: (code: number) => void): () => void {
  let stopping = false;
  return () => {
    if (stopping) return;
    stopping = true;
    void (async () => {
      try {
        try {
          await server.close();
        } finally {
          await api.close();
        }
        exit(0);
      } catch (err) {
        reportError(err);
        exit(1);
      }
    })();
  };
}
