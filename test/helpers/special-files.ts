/**
 * Paths that name no regular file, as an attacker would hand them to the workbench: FIFOs (an
 * `open` for reading blocks until a writer comes), links to /dev/zero (endless reads), a Unix
 * socket, a folder. `release()` unblocks anything still waiting on a FIFO (opening it for writing,
 * without blocking), so a test of old code that hangs cannot hang the test process too.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, mkdirSync, openSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';

export interface SpecialFiles {
  /** A FIFO named like the file it stands in for (`model.onnx`), in `dir` (default: the helper's folder). */
  fifo(name: string, dir?: string): string;
  /** A link named `name` to /dev/zero, in `dir` (default: the helper's folder). */
  zeroLink(name: string, dir?: string): string;
  socket: string;
  directory: string;
  /** Unblocks every reader waiting on one of the FIFOs, closes the socket. */
  release(): Promise<void>;
}

export async function makeSpecialFiles(dir: string): Promise<SpecialFiles> {
  mkdirSync(dir, { recursive: true });
  const fifos: string[] = [];
  const socket = join(dir, 'socket.onnx');
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  const directory = join(dir, 'folder.onnx');
  mkdirSync(directory);
  return {
    fifo(name, where = dir) {
      const path = join(where, name);
      execFileSync('mkfifo', [path]);
      fifos.push(path);
      return path;
    },
    zeroLink(name, where = dir) {
      const path = join(where, name);
      symlinkSync('/dev/zero', path);
      return path;
    },
    socket,
    directory,
    async release() {
      for (const path of fifos) {
        // Each open for writing lets one blocked reader through (ENXIO: nobody is waiting).
        for (let i = 0; i < 16; i++) {
          try {
            closeSync(openSync(path, constants.O_WRONLY | constants.O_NONBLOCK));
          } catch {
            break;
          }
        }
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Rejects when `promise` takes longer than `ms` (a hang becomes a failed assertion, not a stuck test). */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
