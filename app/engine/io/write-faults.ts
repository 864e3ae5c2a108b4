/**
 * A seam for disk faults: tests arm a rule that makes the cache's file writes fail
 * the way a full disk does — part of the data written, then ENOSPC — at the file and the byte
 * they choose. The app never arms it; unarmed, a write pays one null check.
 *
 *   armWriteFault((path, offset) => (path.includes('/grams/') ? diskFull() : null));
 *   … run …
 *   armWriteFault(null);
 */

/** Decides for one write (`bytes` at `offset` of the file at `path`): an error to fail it with, or null. */
export type WriteFaultRule = (path: string, offset: number, bytes: number) => NodeJS.ErrnoException | null;

let armed: WriteFaultRule | null = null;

export function armWriteFault(rule: WriteFaultRule | null): void {
  armed = rule;
}

/** The error a write to a full disk gives (as Node reports it for a file handle: no path). */
export function diskFull(): NodeJS.ErrnoException {
  const err = new Error('ENOSPC: no space left on device, write') as NodeJS.ErrnoException;
  err.code = 'ENOSPC';
  err.errno = -28;
  err.syscall = 'write';
  return err;
}

/** The armed rule's verdict on a write, or null (always null in the app). */
export function writeFault(path: string, offset: number, bytes: number): NodeJS.ErrnoException | null {
  return armed ? armed(path, offset, bytes) : null;
}

/** Adds the file's path to an error that lacks one (file-handle writes report none), so messages name it. */
export function withPath(err: unknown, path: string): unknown {
  if (err && typeof err === 'object' && 'code' in err && !('path' in err)) (err as { path?: string }).path = path;
  return err;
}
