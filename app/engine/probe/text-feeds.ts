/**
 * `text:FILE`: one example per line of a UTF-8 file (blank lines skipped, said in the notes), or
 * per line of a `.jsonl` file (its `text` field), tokenized with the model's tokenizer.json
 * (./tokenizer.ts). Every example is tokenized when the probe opens, so its size, its longest
 * example and its hash (over the ids fed) are known up front.
 *
 * Inputs: the token ids go to `input_ids` (or the model's one [batch, seq] integer input), the
 * mask to the mask input (1 for tokens, 0 for padding), the token types to `token_type_ids`. A
 * batch is padded to its longest example with the tokenizer's padding id; examples are truncated
 * to the model's positions when known: the tokenizer's limits, a `max_length=N` option, and the
 * model input's fixed length.
 */
import { createHash } from 'node:crypto';
import { extname, resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';
import { DEFAULT_MASK_INPUT, feedDType, isSequenceInput, maskInputOf } from './array-feeds.js';
import { allocateFeed, type FeedDType } from './dtype-cast.js';
import { paddedLength, type FeedSource, type FeedTensor, type SequenceInfo } from './feeds.js';
import { FILE_SIZE_LIMITS } from '../io/regular-file.js';
import { readLocalText } from './local-file.js';
import type { ModelInput } from './model-input.js';
import { loadTokenizer } from './tokenizer.js';

export interface TextFeedOptions {
  /** A tokenizer.json (or its folder); required (the caller finds the model's own). */
  tokenizer: string | null;
  maskInput?: string;
  /** A length limit of the spec (`text:FILE?max_length=N`). */
  maxLength?: number;
}

/** The examples of a text probe: lines, or the `text` fields of a .jsonl file. */
export async function readTextExamples(path: string): Promise<{ texts: string[]; skipped: number }> {
  const text = await readLocalText(path, 'text probe', FILE_SIZE_LIMITS.text);
  const lines = text.split('\n').map((l) => (l.endsWith('\r') ? l.slice(0, -1) : l));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const jsonl = extname(path).toLowerCase() === '.jsonl';
  const texts: string[] = [];
  let skipped = 0;
  lines.forEach((line, i) => {
    if (line.trim() === '') {
      skipped++;
      return;
    }
    if (!jsonl) {
      texts.push(line);
      return;
    }
    let value: unknown;
    try {
      value = JSON.parse(line) as unknown;
    } catch {
      throw new WorkbenchError('BAD_PROBE', `text probe ${path}, line ${i + 1}: not valid JSON`);
    }
    const field = (value as { text?: unknown } | null)?.text;
    if (typeof field !== 'string') {
      throw new WorkbenchError('BAD_PROBE', `text probe ${path}, line ${i + 1}: no string field 'text'`);
    }
    texts.push(field);
  });
  if (texts.length === 0)
    throw new WorkbenchError('BAD_PROBE', `text probe ${path}: no examples (every line is blank)`);
  return { texts, skipped };
}

interface Roles {
  ids: ModelInput;
  mask: ModelInput | null;
  types: ModelInput | null;
}

function inputRoles(inputs: readonly ModelInput[], spec: string, maskInput: string | undefined): Roles {
  const maskName = maskInputOf(inputs, maskInput, spec);
  const mask = inputs.find((i) => i.name === maskName) ?? null;
  const types = inputs.find((i) => i.name === 'token_type_ids') ?? null;
  const ids =
    inputs.find((i) => i.name === 'input_ids') ??
    inputs.find((i) => i !== mask && i !== types && isSequenceInput(i) && !i.dtype.startsWith('float'));
  if (!ids) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${spec}: the model has no token input (inputs: ${inputs.map((i) => `${i.name} ${i.dtype} ${formatShape(i.shape)}`).join(', ')}); a text probe feeds input_ids`,
    );
  }
  for (const input of inputs) {
    if (input === ids || input === mask || input === types) continue;
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${spec} feeds ${ids.name}${mask ? `, ${mask.name}` : ''} and token_type_ids; the model input '${input.name}' has no value in a text probe (give an npz:FILE with one array per input)`,
    );
  }
  for (const input of [ids, mask, types]) {
    if (input && input.shape.length !== 2) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `probe ${spec}: the model input '${input.name}' is ${formatShape(input.shape)}; token inputs are [batch, seq]`,
      );
    }
  }
  return { ids, mask, types };
}

export async function openTextFeeds(
  path: string,
  inputs: readonly ModelInput[],
  options: TextFeedOptions,
): Promise<FeedSource> {
  const absolute = resolve(path);
  const base = `text:${absolute}`;
  if (!options.tokenizer) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${base}: a text probe needs the model's tokenizer: put tokenizer.json beside the model or name one (--tokenizer PATH)`,
    );
  }
  const roles = inputRoles(inputs, base, options.maskInput);
  const { texts, skipped } = await readTextExamples(absolute);
  const tokenizer = await loadTokenizer(options.tokenizer);
  const fixed = typeof roles.ids.shape[1] === 'number' ? (roles.ids.shape[1] as number) : null;
  const limits = [tokenizer.maxLength, options.maxLength ?? null, fixed].filter((v): v is number => v !== null);
  const limit = limits.length > 0 ? Math.min(...limits) : null;
  const encoded = texts.map((t) => tokenizer.encode(t, limit));
  const truncated = encoded.filter((e) => e.truncated).length;
  const lengths = Int32Array.from(encoded, (e) => e.ids.length);
  const longest = Math.max(1, ...lengths);
  const spec = `${base}?tokenizer=${queryValue(tokenizer.path)}${options.maxLength ? `&max_length=${options.maxLength}` : ''}`;
  const hash = createHash('sha256').update(`${spec}\n${tokenizer.digest}\nlimit ${limit ?? '-'}\n`);
  hash.update(`ids ${roles.ids.name} mask ${roles.mask?.name ?? '-'} types ${roles.types?.name ?? '-'}\n`);
  const tokenization = createHash('sha256');
  for (const e of encoded) {
    hash.update(`${e.ids.join(',')}|${e.typeIds.join(',')}\n`);
    tokenization.update(`${e.ids.join(',')}\n`);
  }
  const sequence: SequenceInfo = {
    inputs: [roles.ids, roles.mask, roles.types].filter((x): x is ModelInput => x !== null).map((i) => i.name),
    mask: roles.mask?.name ?? null,
    maxLength: longest,
    capLength: fixed ?? limit ?? longest,
    fixedLength: fixed !== null,
  };
  const notes = [
    `tokenized with ${tokenizer.path}${limit !== null ? `, at most ${limit} tokens` : ''}${truncated > 0 ? ` (${truncated} example(s) truncated)` : ''}`,
  ];
  if (skipped > 0) notes.push(`skipped ${skipped} blank line(s)`);
  if (!roles.mask && inputs.some((i) => i.name === DEFAULT_MASK_INPUT)) notes.push('the model has no mask input');
  const batchLength = (start: number, count: number) => {
    let l = 0;
    for (let i = start; i < start + count; i++) l = Math.max(l, lengths[i]!);
    return paddedLength(sequence, l);
  };
  return {
    spec,
    kind: 'text',
    hash: hash.digest('hex'),
    n: texts.length,
    notes,
    inputs: sequence.inputs.map((name) => {
      const input = inputs.find((i) => i.name === name)!;
      return { name, dtype: feedDType(input, base), exampleShape: [null] };
    }),
    sequence,
    validTokens: lengths,
    tokenization: tokenization.digest('hex'),
    tokenizer: { path: tokenizer.path, maxLength: limit, longest },
    batchLength,
    async read(start, count, readOptions = {}) {
      const rows = Math.max(count, readOptions.rows ?? count);
      const length = paddedLength(sequence, batchLength(start, count), readOptions.minLength ?? 0);
      const mask = new Uint8Array(rows * length);
      const fill = (input: ModelInput, value: (e: (typeof encoded)[number], c: number) => number, pad: number) => {
        const dtype = feedDType(input, base);
        const values = new Float64Array(rows * length);
        for (let r = 0; r < count; r++) {
          const e = encoded[start + r]!;
          for (let c = 0; c < length; c++) values[r * length + c] = c < e.ids.length ? value(e, c) : pad;
        }
        return { name: input.name, type: dtype, dims: [rows, length], data: fromNumbers(values, dtype) } as FeedTensor;
      };
      for (let r = 0; r < count; r++) mask.fill(1, r * length, r * length + encoded[start + r]!.ids.length);
      const feeds = [fill(roles.ids, (e, c) => e.ids[c]!, tokenizer.padId)];
      if (roles.mask) feeds.push(fill(roles.mask, () => 1, 0));
      if (roles.types) feeds.push(fill(roles.types, (e, c) => e.typeIds[c] ?? 0, tokenizer.padTypeId));
      return { feeds, mask, length };
    },
    close: async () => undefined,
  };
}

/** A path as a query value: readable, with only the characters that would end it escaped. */
function queryValue(path: string): string {
  return path.replace(/[%&#?=]/g, (c) => encodeURIComponent(c));
}

function fromNumbers(values: Float64Array, dtype: FeedDType) {
  const out = allocateFeed(dtype, values.length);
  if (out instanceof BigInt64Array || out instanceof BigUint64Array) {
    for (let i = 0; i < values.length; i++) out[i] = BigInt(values[i]!);
  } else {
    for (let i = 0; i < values.length; i++) (out as Float64Array)[i] = values[i]!;
  }
  return out;
}
