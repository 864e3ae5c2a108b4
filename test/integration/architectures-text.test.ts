/**
 * Text encoders (two int64 inputs, variable lengths, padded) compared through the API as the
 * command line uses it: linear CKA of layers reduced by mean / first / last / tokens equals the
 * float64 CKA of PyTorch forward-hook activations reduced the same way
 * (test/fixtures/text/expected_cka.json, made by make_text_fixtures.py), from an npz of token ids
 * and from a text file through each of three tokenizer.json files. Bad inputs end in one line with
 * a code.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CompareRequest, ComparisonResult, Reduction } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { removeTempDataDirs, tempDataDir, zoo } from '../helpers/experiments.js';
import { fixturesDir } from '../helpers/paths.js';

const text = join(fixturesDir, 'text');
interface Case {
  name: string;
  rows: { model: string; layers: string[] };
  cols: { model: string; layers: string[] };
  reduction: Reduction;
  n: number;
  matrix: (number | null)[][];
  constantLayers?: string[];
}
const cases = (JSON.parse(readFileSync(join(text, 'expected_cka.json'), 'utf8')) as { cases: Case[] }).cases;
const byName = (prefix: string) => cases.find((c) => c.name.startsWith(prefix))!;

let api: Workbench;
beforeAll(() => {
  api = createWorkbench({ dataDir: tempDataDir('ckawb-text-'), trustCaller: true, threads: 1 });
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

function compare(c: Case, extra: Partial<CompareRequest>): Promise<ComparisonResult> {
  const self = c.rows.model === c.cols.model;
  return api.compareLayers({
    a: join(text, c.rows.model),
    ...(self ? {} : { b: join(text, c.cols.model) }),
    layers: c.rows.layers.join(','),
    layersB: c.cols.layers.join(','),
    measures: ['linear'],
    reduce: c.reduction,
    precision: 'float64',
    ...extra,
  });
}

/** The result's matrix in the reference's layer order, and its layers' reductions. */
function matrixOf(result: ComparisonResult, c: Case): (number | null)[][] {
  const m = result.matrices[0]!;
  const rows = c.rows.layers.map((t) => m.rows.layers.findIndex((l) => l.tensor === t));
  const cols = c.cols.layers.map((t) => m.cols.layers.findIndex((l) => l.tensor === t));
  expect(rows.every((r) => r >= 0) && cols.every((k) => k >= 0)).toBe(true);
  return rows.map((r) => cols.map((k) => m.matrix[r]![k]!));
}

function expectClose(actual: (number | null)[][], expected: (number | null)[][]): void {
  expected.forEach((row, r) =>
    row.forEach((v, k) => {
      const got = actual[r]![k]!;
      if (v === null) expect(got, `cell ${r},${k}`).toBeNull();
      else expect(Math.abs((got as number) - v), `cell ${r},${k}: ${got} vs ${v}`).toBeLessThan(1e-5);
    }),
  );
}

describe('a two-input text encoder on an npz of token ids', () => {
  it.each(['mean', 'first', 'last', 'tokens'])('%s equals the float64 torch reference', async (reduction) => {
    const c = byName(`text_encoder self, ${reduction}`);
    const result = await compare(c, { probe: `npz:${join(text, 'probe_tokens.npz')}` });
    const m = result.matrices[0]!;
    expect(m.n).toBe(c.n);
    if (reduction === 'tokens') expect(m.n).toBe(253); // the valid tokens, not the 24 sentences
    expect(m.rows.layers.every((l) => l.reduction === reduction)).toBe(true);
    expectClose(matrixOf(result, c), c.matrix);
    for (const constant of c.constantLayers ?? []) {
      expect(m.undefined.some((u) => m.rows.layers[u.row]!.tensor === constant)).toBe(true);
    }
  });

  it('two encoders (2 and 3 blocks), and the token-type model fed zeros', async () => {
    const pair = byName('text_encoder vs text_encoder_b, mean');
    expectClose(matrixOf(await compare(pair, { probe: `npz:${join(text, 'probe_tokens.npz')}` }), pair), pair.matrix);
    const tt = byName('text_encoder_tt self');
    const result = await compare(tt, { probe: `npz:${join(text, 'probe_tokens.npz')}` });
    expectClose(matrixOf(result, tt), tt.matrix);
  });
});

describe('a text file through the tokenizer', () => {
  it.each(['wordlevel', 'wordpiece', 'bpe'])(
    '%s: mean equals the reference on the ids its rules give',
    async (name) => {
      const c = byName(`text_encoder self, mean, sentences.txt via ${name}`);
      const result = await compare(c, {
        probe: `text:${join(text, 'sentences.txt')}`,
        tokenizer: join(text, `${name}.tokenizer.json`),
      });
      expect(result.sides[0]!.probe!.spec).toBe(
        `text:${join(text, 'sentences.txt')}?tokenizer=${join(text, `${name}.tokenizer.json`)}`,
      );
      expectClose(matrixOf(result, c), c.matrix);
    },
  );
});

describe('the catalogue, calibrated before any run', () => {
  it('marks batch × heads layers and layers that are not per example, with real per-example shapes', async () => {
    const vit = await api.calibrateModel({ path: zoo('vit-s0') });
    const at = (c: typeof vit, tensor: string) => c.layers.find((l) => l.tensor === tensor)!;
    expect(at(vit, '/blocks.0/attn/softmax/Softmax_output_0')).toEqual({
      tensor: '/blocks.0/attn/softmax/Softmax_output_0',
      split: 'grouped',
      groups: 4,
      shape: [4, 17, 17],
    });
    expect(at(vit, '/blocks.0/attn/Reshape_1_output_0')).toMatchObject({ split: 'none', shape: null });
    expect(at(vit, '/blocks.0/attn/Transpose_output_0')).toMatchObject({ split: 'examples', batchAxis: 1 });
    const encoder = await api.calibrateModel({ path: join(text, 'text_encoder.onnx') });
    expect(at(encoder, '/blocks.0/Add_1_output_0')).toEqual({
      tensor: '/blocks.0/Add_1_output_0',
      split: 'examples',
      shape: ['seq', 32],
    });
    expect(at(encoder, '/blocks.0/attn/softmax/Softmax_output_0').shape).toEqual([4, 'seq', 'seq']);
    expect(at(encoder, '/embed/pos/Gather_output_0')).toMatchObject({ split: 'none' });
    expect(encoder.inputs).toMatch(/input_ids: token id 1 of 5 and 6 tokens; attention_mask: ones/);
  });
});

describe('bad input: one line with a code', () => {
  const encoder = join(text, 'text_encoder.onnx');
  const request = { a: encoder, layers: 'last_hidden_state', measures: ['linear'], reduce: 'mean' as const };

  it('a text probe without a tokenizer, a probe missing an input, an id that cannot be cast', async () => {
    await expect(api.compareLayers({ ...request, probe: `text:${join(text, 'sentences.txt')}` })).rejects.toMatchObject(
      {
        code: 'BAD_PROBE',
        message: expect.stringMatching(/a text probe needs the model's tokenizer/),
      },
    );
    await expect(
      api.compareLayers({ ...request, probe: `npz:${join(text, 'probe_missing_mask.npz')}` }),
    ).rejects.toMatchObject({ code: 'BAD_PROBE', message: expect.stringMatching(/no array 'attention_mask'/) });
    await expect(
      api.compareLayers({ ...request, probe: `npz:${join(text, 'probe_float_ids.npz')}` }),
    ).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message: expect.stringMatching(/is float64 and the model input 'input_ids' takes int64/),
    });
  });

  it('a mask input the model does not have is named', async () => {
    await expect(
      api.compareLayers({ ...request, probe: `npz:${join(text, 'probe_tokens.npz')}`, maskInput: 'padding_mask' }),
    ).rejects.toMatchObject({
      code: 'BAD_INPUT',
      message: expect.stringMatching(
        /the mask input 'padding_mask' is not an input of the model \(inputs: input_ids, attention_mask\)/,
      ),
    });
  });

  it('tokens across two tokenizations of the same sentences', async () => {
    await expect(
      api.compareLayers({
        ...request,
        b: encoder,
        reduce: 'tokens',
        probe: `text:${join(text, 'sentences.txt')}`,
        tokenizer: join(text, 'wordpiece.tokenizer.json'),
        probeB: `text:${join(text, 'sentences.txt')}`,
        tokenizerB: join(text, 'bpe.tokenizer.json'),
      }),
    ).rejects.toMatchObject({ code: 'BAD_INPUT', message: expect.stringMatching(/^'tokens' compares token by token/) });
  });
});
