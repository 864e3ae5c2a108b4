/**
 * Probes that feed every input of a model: tokenizer.json files (WordLevel, WordPiece, BPE)
 * against the ids an independent Python implementation of the Rust rules gives
 * (test/fixtures/text/expected_ids.json, truncation included), text files and .jsonl padded per
 * batch, npz archives with one array per input name, their lossless casts and the errors.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { castElements } from '../../app/engine/probe/dtype-cast.js';
import type { FeedSource } from '../../app/engine/probe/feeds.js';
import type { ModelInput } from '../../app/engine/probe/model-input.js';
import { openFeeds, type FeedContext } from '../../app/engine/probe/open-feeds.js';
import { loadTokenizer } from '../../app/engine/probe/tokenizer.js';
import { floatToHalf, halfToFloat } from '../../app/engine/io/half-float.js';
import { fixturesDir } from '../helpers/paths.js';

const text = join(fixturesDir, 'text');
const expected = JSON.parse(readFileSync(join(text, 'expected_ids.json'), 'utf8')) as {
  tokenizers: Record<
    string,
    {
      encodings: { text: string; ids: number[]; attention_mask: number[]; type_ids: number[]; truncated: boolean }[];
      batch: { input_ids: number[][]; attention_mask: number[][] };
    }
  >;
};
const seq = (name: string, dtype = 'int64'): ModelInput => ({ name, shape: ['batch', 'seq'], dtype });
const encoder = [seq('input_ids'), seq('attention_mask')];
const opened: FeedSource[] = [];
async function open(spec: string, inputs: ModelInput[], context: FeedContext = {}) {
  const source = await openFeeds(spec, inputs, context);
  opened.push(source);
  return source;
}
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
});

const rows = (data: ArrayLike<number | bigint>, count: number, width: number) =>
  Array.from({ length: count }, (_, r) => Array.from({ length: width }, (_, c) => Number(data[r * width + c]!)));

describe('tokenizer.json through @huggingface/tokenizers, in the Rust order', () => {
  it.each(['wordlevel', 'wordpiece', 'bpe'])(
    '%s gives the reference ids, truncated sentences included',
    async (name) => {
      const tokenizer = await loadTokenizer(join(text, `${name}.tokenizer.json`));
      expect(tokenizer.maxLength).toBe(16);
      const reference = expected.tokenizers[name]!.encodings;
      expect(reference.some((e) => e.truncated)).toBe(true);
      reference.forEach(({ text: sentence }, i) => {
        const got = tokenizer.encode(sentence, tokenizer.maxLength);
        expect(got.ids, `${name} sentence ${i}`).toEqual(reference[i]!.ids);
        expect(got.typeIds).toEqual(reference[i]!.type_ids);
        expect(got.truncated).toBe(reference[i]!.truncated);
      });
    },
  );

  it('a WordLevel word outside the vocabulary is [UNK] without a config, and refused without any unknown token', async () => {
    // The library's WordLevel fallback ("Legacy") would give undefined without the config's unk_token.
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'tok-'));
    const json = JSON.parse(readFileSync(join(text, 'wordlevel.tokenizer.json'), 'utf8')) as {
      model: Record<string, unknown>;
    };
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const alone = await loadTokenizer(dir);
    expect(alone.encode('the zebra', null).ids).toEqual([9, 1]);
    delete json.model.unk_token;
    writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify(json));
    const strict = await loadTokenizer(dir);
    expect(() => strict.encode('the zebra', null)).toThrow(/'zebra'.*not in the vocabulary/);
  });
});

describe('text probes', () => {
  it('a .txt and a .jsonl file give the reference batch, padded to the longest in each batch', async () => {
    for (const file of ['sentences.txt', 'sentences.jsonl']) {
      const probe = await open(`text:${join(text, file)}`, encoder, {
        tokenizer: join(text, 'wordpiece.tokenizer.json'),
      });
      const batch = expected.tokenizers.wordpiece!.batch;
      expect(probe.n).toBe(24);
      const all = await probe.read(0, 24);
      const width = batch.input_ids[0]!.length;
      expect(all.length).toBe(width);
      expect(rows(all.feeds[0]!.data, 24, width)).toEqual(batch.input_ids);
      expect(rows(all.feeds[1]!.data, 24, width)).toEqual(batch.attention_mask);
      expect(all.feeds[0]!.type).toBe('int64');
      // Three short sentences are padded only to the longest of them.
      const few = await probe.read(0, 3);
      const longest = Math.max(...[0, 1, 2].map((i) => expected.tokenizers.wordpiece!.encodings[i]!.ids.length));
      expect(few.length).toBe(longest);
      expect(rows(few.mask!, 3, longest)).toEqual(batch.attention_mask.slice(0, 3).map((r) => r.slice(0, longest)));
    }
  });

  it('int32 inputs get int32 ids; the tokenizer beside the model is found; no tokenizer is an error', async () => {
    const probe = await open(`text:${join(text, 'sentences.txt')}?tokenizer=${join(text, 'bpe.tokenizer.json')}`, [
      seq('input_ids', 'int32'),
    ]);
    const batch = await probe.read(0, 2);
    expect(batch.feeds[0]!.data).toBeInstanceOf(Int32Array);
    expect(batch.feeds).toHaveLength(1);
    await expect(
      open(`text:${join(text, 'sentences.txt')}`, encoder, { modelPath: join(text, 'text_encoder.onnx') }),
    ).rejects.toThrow(/needs the model's tokenizer.*--tokenizer/);
  });
});

describe('npz probes feeding several inputs', () => {
  it('one array per input name, trimmed per batch to its longest example', async () => {
    const probe = await open(`npz:${join(text, 'probe_tokens.npz')}`, encoder);
    const batch = expected.tokenizers.wordpiece!.batch;
    expect(probe.n).toBe(24);
    expect(probe.sequence).toMatchObject({ mask: 'attention_mask', maxLength: 16, capLength: 16 });
    expect(Array.from(probe.validTokens!).reduce((a, b) => a + b, 0)).toBe(253);
    const few = await probe.read(0, 2);
    const longest = Math.max(...batch.attention_mask.slice(0, 2).map((r) => r.reduce((a, b) => a + b, 0)));
    expect(few.length).toBe(longest);
    expect(rows(few.feeds[0]!.data, 2, longest)).toEqual(batch.input_ids.slice(0, 2).map((r) => r.slice(0, longest)));
  });

  it('int32 arrays feed int64 inputs; the same tokens give the same tokenization as the text file', async () => {
    const wide = await open(`npz:${join(text, 'probe_tokens_int32.npz')}`, encoder);
    const all = await wide.read(0, 24);
    expect(all.feeds[0]!.data).toBeInstanceOf(BigInt64Array);
    const fromText = await open(`text:${join(text, 'sentences.txt')}`, encoder, {
      tokenizer: join(text, 'wordpiece.tokenizer.json'),
    });
    const fromBpe = await open(`text:${join(text, 'sentences.txt')}`, encoder, {
      tokenizer: join(text, 'bpe.tokenizer.json'),
    });
    expect(wide.tokenization).toBe(fromText.tokenization);
    expect(fromBpe.tokenization).not.toBe(fromText.tokenization);
  });

  it('token_type_ids missing: zeros, with a note; another input missing: an error naming it', async () => {
    const probe = await open(`npz:${join(text, 'probe_tokens.npz')}`, [...encoder, seq('token_type_ids')]);
    expect(probe.notes.join(' ')).toMatch(/token_type_ids.*zeros/);
    const batch = await probe.read(0, 3);
    expect(Array.from(batch.feeds[2]!.data as BigInt64Array).every((v) => v === 0n)).toBe(true);
    await expect(open(`npz:${join(text, 'probe_missing_mask.npz')}`, encoder)).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message: expect.stringMatching(/no array 'attention_mask' for the model input 'attention_mask'/),
    });
  });

  it('a float id that is not a whole number cannot be cast: the input and both dtypes are named', async () => {
    await expect(open(`npz:${join(text, 'probe_float_ids.npz')}`, encoder)).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message: expect.stringMatching(/float64.*'input_ids' takes int64.*9\.5 \(example 0\)/),
    });
  });

  it('a probe set that feeds one float input is refused for token inputs, saying what to give', async () => {
    await expect(open('random:4', encoder)).rejects.toMatchObject({
      code: 'UNSUPPORTED',
      message: expect.stringMatching(/npz:FILE with one array per input name, or text:FILE/),
    });
  });
});

describe('lossless casts', () => {
  const raw = (values: number[], Type: Float64ArrayConstructor | Int32ArrayConstructor) =>
    new Uint8Array(Type.from(values).buffer);
  const context = { source: 'probe x', input: 'x', firstElement: 0, elementsPerExample: 2 };

  it('whole floats into integers, integers into float32 only when exact, bool only from 0 and 1', () => {
    const ints = castElements(
      raw([1, -2, 3], Float64Array),
      { dtype: 'float64', littleEndian: true },
      'int32',
      context,
    );
    expect(Array.from(ints as Int32Array)).toEqual([1, -2, 3]);
    expect(() =>
      castElements(raw([2 ** 24 + 1], Int32Array), { dtype: 'int32', littleEndian: true }, 'float32', context),
    ).toThrow(/16777217/);
    expect(() =>
      castElements(raw([0, 2], Int32Array), { dtype: 'int32', littleEndian: true }, 'bool', context),
    ).toThrow(/value 2 \(example 0\)/);
    expect(() =>
      castElements(raw([3e9], Float64Array), { dtype: 'float64', littleEndian: true }, 'int32', context),
    ).toThrow(/3000000000/);
  });

  it('float16 bits round to nearest even as numpy does', () => {
    // numpy: np.float16(x).view(np.uint16) for these values.
    const cases: [number, number][] = [
      [1, 0x3c00],
      [-2.5, 0xc100],
      [65504, 0x7bff],
      [65520, 0x7c00],
      [1e-8, 0x0000],
      [6e-8, 0x0001],
      [1.0009765625, 0x3c01],
      [1.00048828125, 0x3c00],
    ];
    for (const [value, bits] of cases) expect(floatToHalf(value), String(value)).toBe(bits);
    expect(halfToFloat(floatToHalf(0.1))).toBeCloseTo(0.0999755859375, 12);
  });
});
