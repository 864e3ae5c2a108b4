/**
 * The runner's reductions (runner/reduce.ts) against a direct reference written with nested index
 * loops, on random tensors: regrouping (example- and head-major), masking and padding of sequence
 * axes, the token picks and global average pooling. And the graph's channel axes
 * (onnx/layouts.ts) on the two view models, whose NHWC and NCHW ReLUs were written by hand.
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { channelAxes } from '../../app/engine/onnx/layouts.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { reduceOutput } from '../../app/engine/runner/reduce.js';
import type { RunLayerPlan } from '../../app/engine/runner/protocol.js';
import { fixturesDir } from '../helpers/paths.js';

const generator = new Mulberry32(7);
const random = () => generator.nextUint32() / 2 ** 32;
const tensor = (dims: number[]) => ({
  name: 't',
  type: 'float32',
  dims,
  data: Float32Array.from({ length: dims.reduce((a, b) => a * b, 1) }, () => random() * 2 - 1),
});

describe('runner reductions', () => {
  // A batch of 3 examples × 2 heads, 4 queries × 4 keys (batch length 4), padded to 5 for the probe.
  const B = 3;
  const H = 2;
  const L = 4;
  const padTo = 5;
  const mask = Uint8Array.from([1, 1, 1, 0, 1, 1, 0, 0, 1, 1, 1, 1]); // valid: 3, 2, 4 tokens
  const request = { layers: [], examples: B, mask, length: L };
  const attention = tensor([H * B, L, L]); // head-major: row h·B + i
  /** Example e's value at (head, query, key) in a head-major [H·B, L, L]. */
  const at = (e: number, h: number, q: number, k: number) => attention.data[((h * B + e) * L + q) * L + k]!;
  const valid = (e: number, p: number) => p < L && mask[e * L + p] === 1;
  const reference = (e: number, h: number, q: number, k: number) => (valid(e, q) && valid(e, k) ? at(e, h, q, k) : 0);
  const plan = (reduce: RunLayerPlan['reduce']): RunLayerPlan => ({
    group: { k: H, order: 'head' },
    seqAxes: [1, 2],
    padTo,
    reduce,
  });

  it('all: regrouped, masked and padded', () => {
    const out = reduceOutput(attention, plan({ kind: 'all' }), request);
    expect(out.dims).toEqual([B, H * padTo * padTo]);
    for (let e = 0; e < B; e++)
      for (let h = 0; h < H; h++)
        for (let q = 0; q < padTo; q++)
          for (let k = 0; k < padTo; k++)
            expect((out.data as Float32Array)[e * H * 25 + h * 25 + q * 5 + k]).toBeCloseTo(reference(e, h, q, k), 6);
  });

  it('token picks along the query axis: mean, first, last, each', () => {
    for (const pick of ['mean', 'first', 'last', 'each'] as const) {
      const out = reduceOutput(attention, plan({ kind: 'token', axis: 1, pick }), request);
      const rows: number[][] = [];
      for (let e = 0; e < B; e++) {
        const queries = [0, 1, 2, 3].filter((q) => valid(e, q));
        const pickRow = (qs: number[]) =>
          Array.from({ length: H * padTo }, (_, f) => {
            const [h, k] = [Math.floor(f / padTo), f % padTo];
            return qs.reduce((s, q) => s + reference(e, h, q, k), 0) / qs.length;
          });
        if (pick === 'mean') rows.push(pickRow(queries));
        if (pick === 'first') rows.push(pickRow([queries[0]!]));
        if (pick === 'last') rows.push(pickRow([queries.at(-1)!]));
        if (pick === 'each') for (const q of queries) rows.push(pickRow([q]));
      }
      expect(out.dims).toEqual([rows.length, H * padTo]);
      rows.flat().forEach((v, i) => expect((out.data as Float32Array)[i], `${pick} ${i}`).toBeCloseTo(v, 5));
    }
    expect(reduceOutput(attention, plan({ kind: 'token', axis: 1, pick: 'each' }), request).dims[0]).toBe(9);
  });

  it('example-major regrouping is a reshape; spatial mean averages all but the channel axis', () => {
    const grouped = tensor([B * H, 3]);
    const out = reduceOutput(
      grouped,
      { group: { k: H, order: 'example' }, seqAxes: [], padTo: 0, reduce: { kind: 'all' } },
      {
        ...request,
        mask: null,
      },
    );
    expect(Array.from(out.data as Float32Array)).toEqual(Array.from(grouped.data));
    const nhwc = tensor([2, 3, 4, 5]); // channels last
    const pooled = reduceOutput(
      nhwc,
      { seqAxes: [], padTo: 0, reduce: { kind: 'spatial-mean', channelAxis: 2 } },
      {
        ...request,
        examples: 2,
        mask: null,
      },
    );
    expect(pooled.dims).toEqual([2, 5]);
    for (let e = 0; e < 2; e++)
      for (let c = 0; c < 5; c++) {
        let sum = 0;
        for (let i = 0; i < 12; i++) sum += nhwc.data[e * 60 + i * 5 + c]!;
        expect((pooled.data as Float32Array)[e * 5 + c]).toBeCloseTo(sum / 12, 6);
      }
  });
});

describe('channel axes from the graph', () => {
  it('NCHW everywhere in A; NHWC, NHWC then NCHW ReLUs in B, and its NHWC input', async () => {
    const axes = async (file: string) => channelAxes((await loadModel(join(fixturesDir, 'views', file))).model.graph!);
    const a = await axes('a.onnx');
    const b = await axes('b.onnx');
    const relu = (m: typeof a, k: number) => m.get(`/relu${k}/Relu_output_0`);
    expect([1, 2, 3].map((k) => relu(a, k))).toEqual([
      { axis: 1, channels: 8 },
      { axis: 1, channels: 16 },
      { axis: 1, channels: 16 },
    ]);
    expect([1, 2, 3].map((k) => relu(b, k))).toEqual([
      { axis: 3, channels: 8 },
      { axis: 3, channels: 16 },
      { axis: 1, channels: 16 },
    ]);
    expect(b.get('image')).toEqual({ axis: 3, channels: null });
  });
});
