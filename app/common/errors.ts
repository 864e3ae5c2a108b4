/**
 * Typed errors that cross every transport (IPC, HTTP, CLI) intact: a stable code for programs and
 * a one-line human message for people.
 */
import type { ErrorCode, WorkbenchErrorData } from './contract.js';

export class WorkbenchError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WorkbenchError';
    this.code = code;
    this.details = details;
  }

  toData(): WorkbenchErrorData {
    return this.details === undefined
      ? { code: this.code, message: this.message }
      : { code: this.code, message: this.message, details: this.details };
  }
}

export function isWorkbenchError(err: unknown): err is WorkbenchError {
  return err instanceof WorkbenchError;
}

const NODE_ERRNO_CODES: Record<string, { code: ErrorCode; text: string }> = {
  ENOENT: { code: 'NOT_FOUND', text: 'no such file or directory' },
  EISDIR: { code: 'BAD_INPUT', text: 'is a directory, not a file' },
  ENOTDIR: { code: 'BAD_INPUT', text: 'a path component is not a directory' },
  EACCES: { code: 'FORBIDDEN', text: 'permission denied' },
  EPERM: { code: 'FORBIDDEN', text: 'operation not permitted' },
  ENOSPC: { code: 'DISK_FULL', text: 'no space left on device' },
  EMFILE: { code: 'RUNTIME', text: 'too many open files' },
  // better-sqlite3's errors: the database of the workbench (another process holding its write lock
  // past the busy timeout; its disk full).
  SQLITE_BUSY: {
    code: 'TIMEOUT',
    text: 'the workbench database stayed locked by another process (a second workbench or a script) for too long',
  },
  SQLITE_LOCKED: { code: 'TIMEOUT', text: 'the workbench database is locked' },
  SQLITE_FULL: { code: 'DISK_FULL', text: 'no space left on device for the workbench database' },
};

/** Turns any thrown value into the wire form, keeping typed errors as they are. */
export function toErrorData(err: unknown): WorkbenchErrorData {
  if (err instanceof WorkbenchError) return err.toData();
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') {
    const known = NODE_ERRNO_CODES[err.code];
    const path = 'path' in err && typeof err.path === 'string' ? err.path : undefined;
    if (known) return { code: known.code, message: path ? `${path}: ${known.text}` : known.text };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: firstLine(message) || 'unexpected error' };
}

/** The same as {@link toErrorData} but as a throwable WorkbenchError. */
export function toWorkbenchError(err: unknown): WorkbenchError {
  if (err instanceof WorkbenchError) return err;
  const data = toErrorData(err);
  return new WorkbenchError(data.code, data.message, data.details);
}

export function firstLine(text: string): string {
  return text.split('\n', 1)[0]?.trim() ?? '';
}

/** The one line a command-line program prints for an error: `PROGRAM: error: MESSAGE`. */
export function errorLine(err: unknown, program = 'cka-workbench'): string {
  return `${program}: error: ${toErrorData(err).message}`;
}
