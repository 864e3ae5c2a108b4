/**
 * Arrays feeding every input of a model: `npz:FILE` with one array per input name (first axis =
 * examples, equal lengths), or an `npy:`/`npz:FILE:KEY` array for a model's one input. Each array
 * is cast to the dtype its input declares (losslessly, ./dtype-cast.ts). A missing
 * `token_type_ids` is fed as zeros (said in the notes); any other missing input is an error naming
 * it.
 *
 * Token inputs ([batch, seq] with a free seq axis) are trimmed per batch to the batch's longest
 * example — the last position the mask marks valid — so a batch of short sentences does not run
 * at the array's full width. Activations of valid tokens do not depend on padding under a mask.
 */
import { createHash } from 'node:crypto';
import { resolve } from 'node:path';
import type { ProbeSetEntry } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';
import { hashOpenedFile, type OpenedRegularFile } from '../io/regular-file.js';
import { arrayColumn, openNpzArchive, type ArrayColumn } from './array-column.js';
import { fileByteSource } from './byte-source.js';
import { checkExampleCount } from './source.js';
import { openProbeFile } from './array-probe.js';
import { allocateFeed, castElements, isFeedDType, type FeedData, type FeedDType } from './dtype-cast.js';
import {
  contentLengths,
  elementsOf,
  paddedLength,
  resizeRows,
  type FeedInput,
  type FeedSource,
  type FeedTensor,
  type SequenceInfo,
} from './feeds.js';
import type { ModelInput } from './model-input.js';
import type { ProbeSpec } from './spec.js';

/** Fed as zeros when the probe has no array for it (BERT-style models: one segment). */
export const ZERO_FILLED_INPUTS = new Set(['token_type_ids']);
export const DEFAULT_MASK_INPUT = 'attention_mask';

export interface ArrayFeedOptions {
  /** The input that marks valid tokens (default `attention_mask` when the model has it). */
  maskInput?: string;
  /** The most examples a probe may have (default: the workbench's limit). */
  maxExamples?: number;
}

interface Feed {
  input: ModelInput;
  dtype: FeedDType;
  /** null: zeros of the ids' shape. */
  column: ArrayColumn | null;
  sequence: boolean;
}

/** An input is a token sequence when it is [batch, seq] with seq not fixed by the model. */
export function isSequenceInput(input: ModelInput): boolean {
  return input.shape.length === 2 && typeof input.shape[1] !== 'number';
}

/** Which model input marks valid tokens: `--mask-input`, else `attention_mask` if the model has it. */
export function maskInputOf(
  inputs: readonly ModelInput[],
  requested: string | undefined,
  source: string,
): string | null {
  if (requested !== undefined) {
    if (!inputs.some((i) => i.name === requested)) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${source}: the mask input '${requested}' is not an input of the model (inputs: ${inputs.map((i) => i.name).join(', ')})`,
      );
    }
    return requested;
  }
  return inputs.some((i) => i.name === DEFAULT_MASK_INPUT) ? DEFAULT_MASK_INPUT : null;
}

export function feedDType(input: ModelInput, source: string): FeedDType {
  if (!isFeedDType(input.dtype)) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${source}: the model input '${input.name}' takes ${input.dtype} values, which probes cannot feed`,
    );
  }
  return input.dtype;
}

export async function openArrayFeeds(
  parsed: Extract<ProbeSpec, { kind: 'npy' | 'npz' }>,
  inputs: readonly ModelInput[],
  options: ArrayFeedOptions = {},
): Promise<FeedSource> {
  const absolute = resolve(parsed.path);
  const what = `${parsed.kind}:${parsed.path}`;
  if (parsed.kind === 'npy') {
    const file = await openProbeFile(absolute, what);
    try {
      const column = await arrayColumn(fileByteSource(file.handle, 0, file.size, absolute), absolute);
      const input = onlyInput(inputs, `npy:${absolute}`, 'an .npy file holds one array');
      return await assemble(`npy:${absolute}`, 'npy', file, [makeFeed(input, column)], inputs, options, () =>
        file.close(),
      );
    } catch (err) {
      await file.close();
      throw err;
    }
  }
  const archive = await openNpzArchive(absolute, what);
  try {
    const keys = archive.members.map((m) => m.key);
    const list = keys.join(', ');
    let feeds: Feed[];
    let spec = `npz:${absolute}`;
    if (parsed.key !== undefined) {
      if (!keys.includes(parsed.key)) {
        throw new WorkbenchError('BAD_PROBE', `${absolute}: no array '${parsed.key}' in the archive (it has: ${list})`);
      }
      const input = onlyInput(inputs, `npz:${absolute}:${parsed.key}`, `'${parsed.key}' is one array`);
      feeds = [makeFeed(input, await archive.column(parsed.key))];
      spec = `npz:${absolute}:${parsed.key}`;
    } else if (inputs.length === 1 && !keys.includes(inputs[0]!.name)) {
      if (keys.length > 1) {
        throw new WorkbenchError(
          'BAD_PROBE',
          `${absolute}: the archive holds several arrays (${list}) and none is named after the model input '${inputs[0]!.name}'; name one as npz:PATH:KEY`,
        );
      }
      feeds = [makeFeed(inputs[0]!, await archive.column(keys[0]!))];
      spec = `npz:${absolute}:${keys[0]!}`;
    } else {
      feeds = [];
      for (const input of inputs) {
        if (keys.includes(input.name)) feeds.push(makeFeed(input, await archive.column(input.name)));
        else if (ZERO_FILLED_INPUTS.has(input.name)) feeds.push({ ...makeFeed(input, null) });
        else {
          throw new WorkbenchError(
            'BAD_PROBE',
            `probe npz:${absolute} has no array '${input.name}' for the model input '${input.name}' ${formatShape(input.shape)} (the archive has: ${list})`,
          );
        }
      }
    }
    const unused = keys.filter((k) => !feeds.some((f) => f.column?.source.endsWith(`:${k}`)));
    const source = await assemble(spec, 'npz', archive.file, feeds, inputs, options, () => archive.close());
    if (unused.length > 0 && parsed.key === undefined && feeds.length > 1) {
      source.notes.push(`arrays the model has no input for were not used: ${unused.join(', ')}`);
    }
    return source;
  } catch (err) {
    await archive.close();
    throw err;
  }
}

function onlyInput(inputs: readonly ModelInput[], source: string, why: string): ModelInput {
  if (inputs.length === 1) return inputs[0]!;
  throw new WorkbenchError(
    'BAD_PROBE',
    `probe ${source}: the model has ${inputs.length} inputs (${inputs.map((i) => i.name).join(', ')}) and ${why}; ` +
      'give npz:FILE with one array per input name',
  );
}

function makeFeed(input: ModelInput, column: ArrayColumn | null): Feed {
  return { input, dtype: feedDType(input, column?.source ?? 'probe'), column, sequence: isSequenceInput(input) };
}

async function assemble(
  spec: string,
  kind: ProbeSetEntry['kind'],
  file: OpenedRegularFile,
  feeds: Feed[],
  inputs: readonly ModelInput[],
  options: ArrayFeedOptions,
  close: () => Promise<void>,
): Promise<FeedSource> {
  const columns = feeds.filter((f): f is Feed & { column: ArrayColumn } => f.column !== null);
  const n = columns[0]!.column.n;
  // Before the data is scanned or hashed: a small compressed archive can declare millions of rows.
  checkExampleCount(spec, n, options.maxExamples);
  for (const f of columns) {
    if (f.column.n !== n) {
      const lengths = columns.map((c) => `${c.input.name} ${c.column.n}`).join(', ');
      throw new WorkbenchError(
        'BAD_PROBE',
        `probe ${spec}: the arrays hold different numbers of examples (${lengths})`,
      );
    }
    checkShape(spec, f);
  }
  const maskName = maskInputOf(inputs, options.maskInput, spec);
  const notes: string[] = [];
  // Zeros take the shape of the token ids (the model's own sequence input).
  // Token ids are integers: a float array with a free second axis is features, not tokens.
  const tokenFeeds = columns.filter((f) => f.sequence && !f.dtype.startsWith('float'));
  const idsFeed = tokenFeeds.find((f) => f.input.name === 'input_ids') ?? tokenFeeds[0];
  for (const f of feeds.filter((x) => x.column === null)) {
    if (!idsFeed) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `probe ${spec}: no array for the model input '${f.input.name}', and no token array to take its shape from`,
      );
    }
    notes.push(`the probe has no '${f.input.name}': fed as zeros (one segment)`);
  }
  const width = idsFeed?.column.exampleShape[0] ?? 0;
  const sequenceFeeds = feeds.filter((f) => f.sequence && (f.column === null || f.column.exampleShape[0] === width));
  const maskFeed = maskName ? columns.find((f) => f.input.name === maskName) : undefined;
  if (maskName && !maskFeed) {
    throw new WorkbenchError('BAD_PROBE', `probe ${spec}: no array for the mask input '${maskName}'`);
  }
  const hash = createHash('sha256').update(`${spec}\n`);
  for (const f of feeds) hash.update(`${f.input.name} <- ${f.column?.source ?? 'zeros'} as ${f.dtype}\n`);
  hash.update(`mask ${maskName ?? '-'}\n`);
  // The bytes of the file that was opened (not of whatever the path names by now).
  await hashOpenedFile(hash, file);

  let sequence: SequenceInfo | null = null;
  let lengths: Int32Array | null = null;
  let validTokens: Int32Array | null = null;
  let tokenization: string | null = null;
  if (idsFeed && sequenceFeeds.length > 0) {
    const scanned = await scanTokens(idsFeed.column, maskFeed?.column ?? null, n, width);
    lengths = scanned.lengths;
    validTokens = scanned.valid;
    tokenization = scanned.tokenization;
    const fixed = typeof idsFeed.input.shape[1] === 'number';
    sequence = {
      inputs: sequenceFeeds.map((f) => f.input.name),
      mask: maskFeed ? maskName : null,
      maxLength: Math.max(1, ...lengths),
      capLength: width,
      fixedLength: fixed,
    };
  }
  const feedInputs: FeedInput[] = feeds.map((f) => ({
    name: f.input.name,
    dtype: f.dtype,
    exampleShape: sequence && sequence.inputs.includes(f.input.name) ? [null] : (f.column?.exampleShape ?? [width]),
  }));
  const batchLength = (start: number, count: number) => {
    if (!sequence || !lengths) return null;
    let longest = 0;
    for (let i = start; i < start + count; i++) longest = Math.max(longest, lengths[i]!);
    return paddedLength(sequence, longest);
  };
  return {
    spec,
    kind,
    hash: hash.digest('hex'),
    n,
    notes,
    inputs: feedInputs,
    sequence,
    validTokens,
    tokenization,
    batchLength,
    async read(start, count, readOptions = {}) {
      const rows = Math.max(count, readOptions.rows ?? count);
      const length = sequence ? paddedLength(sequence, batchLength(start, count)!, readOptions.minLength ?? 0) : null;
      const tensors: FeedTensor[] = [];
      let mask: Uint8Array | null = null;
      for (const f of feeds) {
        const isSeq = sequence?.inputs.includes(f.input.name) ?? false;
        const shape = isSeq ? [length!] : (f.column?.exampleShape ?? [width]);
        let data: FeedData;
        if (f.column) {
          const per = elementsOf(f.column.exampleShape);
          data = castElements(await f.column.readRaw(start, count), f.column.header, f.dtype, {
            source: `probe ${spec}, array '${f.column.source.split(':').pop()}'`,
            input: f.input.name,
            firstElement: start * per,
            elementsPerExample: per,
          });
          data = isSeq
            ? resizeRows(data, f.dtype, count, width, length!, rows)
            : resizeRows(data, f.dtype, count, per, per, rows);
        } else {
          data = allocateFeed(f.dtype, rows * elementsOf(shape as number[]));
        }
        tensors.push({ name: f.input.name, type: f.dtype, dims: [rows, ...(shape as number[])], data });
        if (sequence && f.input.name === sequence.mask) mask = toMask(data, rows * length!);
      }
      if (sequence && !mask) mask = allValid(count, rows, length!);
      return { feeds: tensors, mask, length };
    },
    close,
  };
}

function checkShape(spec: string, f: Feed & { column: ArrayColumn }): void {
  const want = f.input.shape.slice(1);
  const got = f.column.exampleShape;
  const fits = want.length === got.length && want.every((d, i) => typeof d !== 'number' || d === got[i]);
  if (!fits) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${spec}: array '${f.column.source.split(':').pop()}' gives examples of shape ${formatShape(got)}, but the model input '${f.input.name}' takes ${formatShape(want)} per example`,
    );
  }
}

/** Lengths, valid-token counts and the tokenization hash, read through the arrays in chunks. */
async function scanTokens(
  ids: ArrayColumn,
  mask: ArrayColumn | null,
  n: number,
  width: number,
): Promise<{ lengths: Int32Array; valid: Int32Array; tokenization: string }> {
  const lengths = new Int32Array(n);
  const valid = new Int32Array(n);
  const hash = createHash('sha256');
  const chunk = Math.max(1, Math.floor(2 ** 20 / Math.max(1, width)));
  const context = (column: ArrayColumn, start: number) => ({
    source: `probe array ${column.source}`,
    input: column.source.split(':').pop()!,
    firstElement: start * width,
    elementsPerExample: width,
  });
  for (let start = 0; start < n; start += chunk) {
    const count = Math.min(chunk, n - start);
    const idValues = castElements(await ids.readRaw(start, count), ids.header, 'int64', context(ids, start));
    const maskValues = mask
      ? castElements(await mask.readRaw(start, count), mask.header, 'float64', context(mask, start))
      : null;
    const chunkLengths = maskValues ? contentLengths(maskValues, count, width) : new Int32Array(count).fill(width);
    lengths.set(chunkLengths, start);
    for (let r = 0; r < count; r++) {
      const kept: bigint[] = [];
      for (let c = 0; c < width; c++) {
        if (!maskValues || maskValues[r * width + c] !== 0) kept.push((idValues as BigInt64Array)[r * width + c]!);
      }
      valid[start + r] = kept.length;
      hash.update(`${kept.join(',')}\n`);
    }
  }
  return { lengths, valid, tokenization: hash.digest('hex') };
}

export function toMask(data: FeedData, length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Number(data[i]!) !== 0 ? 1 : 0;
  return out;
}

function allValid(count: number, rows: number, length: number): Uint8Array {
  const out = new Uint8Array(rows * length);
  out.fill(1, 0, count * length);
  return out;
}
