/**
 * What every probe set offers the extractor: a reproducible description (canonical spec + hash),
 * its size, the per-example shape it feeds, and examples by range as float32.
 *
 * `hash` = sha256 over the canonical spec and the bytes of every data file the probe reads, so a
 * changed file gives a different hash and cached activations are never reused by mistake.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface ProbeSource {
  /** Canonical spec: absolute paths, every option resolved (e.g. `images:/data/x?layout=nchw&…`). */
  readonly spec: string;
  readonly hash: string;
  /** Number of examples. */
  readonly n: number;
  /** Shape of one example as fed to the model (the input shape without its batch axis). */
  readonly exampleShape: number[];
  /** Things a person should know ("skipped 2 files that are not images"). */
  readonly notes: string[];
  /** Examples [start, start + count) in C order, count × prod(exampleShape) values. */
  read(start: number, count: number): Promise<Float32Array>;
  close(): Promise<void>;
}

export function probeHash(): Hash {
  return createHash('sha256');
}

/** Streams a file into `hash` (never the whole file in memory). */
export async function hashFile(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
}

export function elementsPerExample(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}
