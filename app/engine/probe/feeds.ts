/**
 * What a probe gives a model: one tensor for every graph input, batch by batch (FeedSource). A
 * model with one float input takes any probe set (./source.ts, cast to its float type); models
 * with several inputs, integer inputs or token inputs take an .npz with one array per input name
 * (./array-feeds.ts) or a text file through a tokenizer (./text-feeds.ts).
 *
 * Token inputs ([batch, seq], e.g. `input_ids`, `attention_mask`) are padded per batch to the
 * longest example in it; the mask input (1 = valid token) travels with every batch, so that the
 * reductions know which positions are tokens and which are padding.
 */
import { createHash } from 'node:crypto';
import type { ProbeSetEntry } from '../../common/contract.js';
import { allocateFeed, floatsAs, type FeedData, type FeedDType } from './dtype-cast.js';
import type { ModelInput } from './model-input.js';
import type { ProbeSource } from './source.js';

export interface FeedTensor {
  name: string;
  type: FeedDType;
  dims: number[];
  data: FeedData;
}

export interface FeedInput {
  name: string;
  dtype: FeedDType;
  /** One example's shape; null marks the sequence axis (its length varies per batch). */
  exampleShape: (number | null)[];
}

export interface SequenceInfo {
  /** Inputs fed as [rows, length], padded per batch. */
  inputs: string[];
  /** The input whose non-zero values mark valid tokens, or null (every position is a token). */
  mask: string | null;
  /** The longest example (its last valid position + 1) over the whole probe. */
  maxLength: number;
  /** The most a batch may be padded to (the array's width, or the model's positions). */
  capLength: number;
  /** The model takes exactly `capLength` positions: batches are not trimmed. */
  fixedLength: boolean;
}

export interface FeedBatch {
  feeds: FeedTensor[];
  /** Sequence probes: valid positions [rows, length] (1 = token), rows padded ones included. */
  mask: Uint8Array | null;
  /** Sequence probes: this batch's length. */
  length: number | null;
}

export interface FeedReadOptions {
  /** Rows to feed (≥ count): a model with a fixed batch size gets rows of zeros appended. */
  rows?: number;
  /** Pad sequences to at least this length (calibration feeds two different lengths). */
  minLength?: number;
}

export interface FeedSource {
  /** Canonical spec: absolute paths, options resolved. */
  readonly spec: string;
  readonly kind: ProbeSetEntry['kind'];
  /** sha256 over the spec, how arrays map to inputs, and every byte the probe reads. */
  readonly hash: string;
  readonly n: number;
  readonly notes: string[];
  readonly inputs: FeedInput[];
  readonly sequence: SequenceInfo | null;
  /** Sequence probes: valid tokens per example. */
  readonly validTokens: Int32Array | null;
  /** Sequence probes: sha256 of every example's valid token ids; equal for two probes that tokenize alike. */
  readonly tokenization: string | null;
  /** Text probes: the tokenizer and its limits. */
  readonly tokenizer?: { path: string; maxLength: number | null; longest: number };
  /** Sequence probes: the length a batch of these examples is padded to. */
  batchLength(start: number, count: number): number | null;
  read(start: number, count: number, options?: FeedReadOptions): Promise<FeedBatch>;
  close(): Promise<void>;
}

export function elementsOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/** A float probe set (Fashion-MNIST, images, noise, a float array) feeding a model's one float input. */
export function floatFeeds(
  probe: ProbeSource,
  input: ModelInput,
  dtype: 'float32' | 'float64' | 'float16',
  kind: ProbeSetEntry['kind'],
): FeedSource {
  const perExample = elementsOf(probe.exampleShape);
  return {
    spec: probe.spec,
    kind,
    // A float16 or float64 input gets other values than float32 would: part of what is hashed.
    hash: dtype === 'float32' ? probe.hash : createHash('sha256').update(`${probe.hash}\nas ${dtype}\n`).digest('hex'),
    n: probe.n,
    notes: probe.notes,
    inputs: [{ name: input.name, dtype, exampleShape: probe.exampleShape }],
    sequence: null,
    validTokens: null,
    tokenization: null,
    batchLength: () => null,
    async read(start, count, options = {}) {
      const rows = Math.max(count, options.rows ?? count);
      let values = await probe.read(start, count);
      if (rows > count) {
        const padded = new Float32Array(rows * perExample);
        padded.set(values);
        values = padded;
      }
      return {
        feeds: [{ name: input.name, type: dtype, dims: [rows, ...probe.exampleShape], data: floatsAs(values, dtype) }],
        mask: null,
        length: null,
      };
    },
    close: () => probe.close(),
  };
}

/**
 * Rows of `width` values (row-major [count, width]) cut or zero-padded to `length` columns, with
 * `rows − count` rows of zeros appended.
 */
export function resizeRows(
  data: FeedData,
  dtype: FeedDType,
  count: number,
  width: number,
  length: number,
  rows: number,
): FeedData {
  if (length === width && rows === count) return data;
  const out = allocateFeed(dtype, rows * length);
  const keep = Math.min(width, length);
  for (let r = 0; r < count; r++) {
    (out as Uint8Array).set((data as Uint8Array).subarray(r * width, r * width + keep), r * length);
  }
  return out;
}

/** Per example, its last valid position + 1 (0 when none is valid), from a mask [count, width]. */
export function contentLengths(mask: ArrayLike<number | bigint>, count: number, width: number): Int32Array {
  const out = new Int32Array(count);
  for (let r = 0; r < count; r++) {
    let last = 0;
    for (let c = 0; c < width; c++) if (Number(mask[r * width + c]!) !== 0) last = c + 1;
    out[r] = last;
  }
  return out;
}

/** The length a batch is padded to: its longest example, at least `minLength`, within the cap. */
export function paddedLength(info: SequenceInfo, longest: number, minLength = 0): number {
  if (info.fixedLength) return info.capLength;
  return Math.min(info.capLength, Math.max(1, longest, minLength));
}
