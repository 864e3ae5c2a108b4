/**
 * Reading a stored array's bytes by range without loading the whole file: straight from a file
 * (a .npy, or an uncompressed .npz member), or through a streaming inflater (a compressed .npz
 * member, read front to back; going backwards restarts the inflater).
 */
import type { FileHandle } from 'node:fs/promises';
import { Inflate } from 'fflate';
import { WorkbenchError } from '../../common/errors.js';

export interface ByteSource {
  /** Bytes available (the uncompressed size). */
  readonly size: number;
  /** Exactly `length` bytes from `offset` (an error if the source is shorter). */
  read(offset: number, length: number): Promise<Uint8Array>;
}

async function readFully(handle: FileHandle, target: Uint8Array, position: number, source: string): Promise<void> {
  let done = 0;
  while (done < target.length) {
    const { bytesRead } = await handle.read(target, done, target.length - done, position + done);
    if (bytesRead === 0) throw new WorkbenchError('BAD_PROBE', `${source}: the file ends early (truncated?)`);
    done += bytesRead;
  }
}

/** `size` bytes of a file starting at `base`. */
export function fileByteSource(handle: FileHandle, base: number, size: number, source: string): ByteSource {
  return {
    size,
    async read(offset, length) {
      if (offset + length > size) throw new WorkbenchError('BAD_PROBE', `${source}: the data ends early (truncated?)`);
      const out = new Uint8Array(length);
      await readFully(handle, out, base + offset, source);
      return out;
    },
  };
}

// Small, so that a highly compressible member (zeros) cannot inflate to gigabytes in one step.
const COMPRESSED_CHUNK = 64 * 1024;

/** A raw-deflate stream of `compressedSize` bytes at `base`, inflating to `size` bytes. */
export function inflatingByteSource(
  handle: FileHandle,
  base: number,
  compressedSize: number,
  size: number,
  source: string,
): ByteSource {
  let inflater: Inflate;
  let consumed = 0; // compressed bytes fed so far
  let position = 0; // uncompressed offset of `pending[0]`'s first byte
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;

  const restart = () => {
    inflater = new Inflate((chunk) => {
      pending.push(chunk);
      pendingBytes += chunk.length;
    });
    consumed = 0;
    position = 0;
    pending = [];
    pendingBytes = 0;
  };
  restart();

  const dropBefore = (offset: number) => {
    while (pending.length > 0 && position + pending[0]!.length <= offset) {
      position += pending[0]!.length;
      pendingBytes -= pending[0]!.length;
      pending.shift();
    }
  };

  return {
    size,
    async read(offset, length) {
      if (offset + length > size) throw new WorkbenchError('BAD_PROBE', `${source}: the data ends early (truncated?)`);
      if (offset < position) restart();
      dropBefore(offset);
      while (position + pendingBytes < offset + length) {
        if (consumed >= compressedSize) throw new WorkbenchError('BAD_PROBE', `${source}: compressed data ends early`);
        const chunk = new Uint8Array(Math.min(COMPRESSED_CHUNK, compressedSize - consumed));
        await readFully(handle, chunk, base + consumed, source);
        consumed += chunk.length;
        try {
          inflater.push(chunk, consumed >= compressedSize);
        } catch (err) {
          throw new WorkbenchError('BAD_PROBE', `${source}: corrupt compressed data (${(err as Error).message})`);
        }
        dropBefore(offset);
      }
      const out = new Uint8Array(length);
      let written = 0;
      let chunkStart = position;
      for (const chunk of pending) {
        const from = Math.max(0, offset + written - chunkStart);
        if (from < chunk.length) {
          const take = Math.min(chunk.length - from, length - written);
          out.set(chunk.subarray(from, from + take), written);
          written += take;
          if (written === length) break;
        }
        chunkStart += chunk.length;
      }
      return out;
    },
  };
}
