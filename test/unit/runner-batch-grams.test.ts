/**
 * Minibatch Grams in the model runner (runner/batch-grams.ts): rows arriving in runs of any size
 * are cut into batches of b in probe order, and each batch's Gram is the one the CKA workers would
 * compute from the same rows (compute/gram.ts, compared bit for bit), and double-centred it equals
 * HXXᵀH computed here in float64. Rows short of a batch wait for the next run; NaN/±Inf are counted
 * per run from the probe index the host gives; a run out of order is refused; a layer without a
 * Gram spec is left alone (its rows go back as they are).
 */
import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../app/engine/cka/rng.js';
import { packedLength, packedRowStart, type PackedArray } from '../../app/engine/cka/packed.js';
import { centredGramInto } from '../../app/engine/compute/gram.js';
import { Workspace } from '../../app/engine/compute/workspace.js';
import { GramCarry } from '../../app/engine/runner/batch-grams.js';
import type { RunGramsRequest, WireTensor } from '../../app/engine/runner/protocol.js';

const generator = new Mulberry32(11);
const random = () => generator.nextUint32() / 2 ** 32;

const b = 4;
const features = [6, 3];
const total = 17; // four batches and one row left over
// Layer 0 is ReLU-like (non-negative: the Gram is taken uncentred), layer 1 has a large mean (centred first).
const rows = features.map((p, l) =>
  Float32Array.from({ length: total * p }, () => (l === 0 ? Math.max(0, random() - 0.3) : 5 + random())),
);

function run(start: number, count: number, batchRows = count): { outputs: WireTensor[]; request: RunGramsRequest } {
  const outputs = features.map((p, l) => {
    // A fixed-size batch pads past the examples: the runner must take only `count` rows.
    const data = new Float32Array(batchRows * p).fill(-1);
    data.set(rows[l]!.subarray(start * p, (start + count) * p));
    return { name: `l${l}`, type: 'float32', dims: [batchRows, p], data };
  });
  return {
    outputs,
    request: {
      batchSize: b,
      precision: 'auto',
      restart: start === 0,
      layers: features.map((p) => ({ dims: [batchRows, p], rows: count, features: p, rowOffset: start })),
    },
  };
}

/** The full symmetric matrix of a packed upper triangle (row j holds G[j][j…n−1]). */
function unpack(packed: PackedArray, n: number): number[][] {
  const g = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) g[i]![j] = g[j]![i] = packed[packedRowStart(n, j) + i - j]!;
  }
  return g;
}

function doubleCentred(g: number[][]): number[][] {
  const n = g.length;
  const rowMean = g.map((r) => r.reduce((a, v) => a + v, 0) / n);
  const mean = rowMean.reduce((a, v) => a + v, 0) / n;
  return g.map((r, i) => r.map((v, j) => v - rowMean[i]! - rowMean[j]! + mean));
}

/** HXXᵀH of rows [start, start + b) in float64. */
function referenceCentred(layer: number, start: number): number[][] {
  const p = features[layer]!;
  const x = Array.from({ length: b }, (_, i) =>
    Array.from(rows[layer]!.subarray((start + i) * p, (start + i + 1) * p)),
  );
  const g = x.map((xi) => x.map((xj) => xi.reduce((a, v, f) => a + v * xj[f]!, 0)));
  return doubleCentred(g);
}

describe('minibatch Grams in the runner', () => {
  it('cuts runs of any size into batches of b, each Gram equal to the workers’ and to HXXᵀH', async () => {
    const carry = new GramCarry(b, 'auto');
    const sizes = [2, 3, 7, 1, 4]; // 17 rows: batches end inside runs, at their ends, and across three runs
    const got: PackedArray[][] = [[], []];
    let start = 0;
    for (const [r, size] of sizes.entries()) {
      const { outputs, request } = run(start, size, r === 2 ? 8 : size);
      const replies = await carry.add(outputs, request);
      replies.forEach((reply, l) => {
        if (!reply) throw new Error(`no Grams of layer ${l}`);
        expect(reply.rows).toBe(size);
        expect(reply.nonFinite).toBeNull();
        for (const gram of reply.grams) {
          expect(gram.constant).toBe(false);
          expect(gram.nonFinite).toBeNull();
          got[l]!.push(gram.packed);
        }
      });
      start += size;
    }
    const workspace = new Workspace();
    for (const [l, p] of features.entries()) {
      expect(got[l]).toHaveLength(Math.floor(total / b));
      for (const [t, packed] of got[l]!.entries()) {
        // float32 rows, a float32 product: kept in float32, as the workers keep theirs (grams.ts)
        const workers = new Float32Array(packedLength(b));
        const x = rows[l]!.slice(t * b * p, (t + 1) * b * p);
        await centredGramInto(x, b, p, 'float32', workers, workspace, 1);
        expect(packed).toBeInstanceOf(Float32Array);
        expect(packed).toEqual(workers);
        const centred = doubleCentred(unpack(packed, b));
        const reference = referenceCentred(l, t * b);
        const scale = Math.max(...reference.flat().map(Math.abs));
        centred.flat().forEach((v, e) => expect(Math.abs(v - reference.flat()[e]!)).toBeLessThan(1e-5 * scale));
      }
    }
  });

  it('counts NaN and ±Inf from the host’s probe index; refuses rows out of order; takes nothing of a wrong shape', async () => {
    const carry = new GramCarry(b, 'auto');
    const first = run(0, 2);
    await carry.add(first.outputs, first.request);
    const { outputs, request } = run(2, 4);
    const data = outputs[0]!.data as Float32Array;
    data[1 * features[0]! + 2] = NaN; // example 3
    data[3 * features[0]!] = Infinity; // example 5
    data[3 * features[0]! + 1] = -Infinity;
    const replies = await carry.add(outputs, request);
    expect(replies[0]!.nonFinite).toEqual({ nan: 1, inf: 2, firstExample: 3 });
    expect(replies[1]!.nonFinite).toBeNull();
    expect(replies[0]!.grams[0]!.nonFinite).toMatchObject({ example: 3 });
    expect([...replies[0]!.grams[0]!.packed].every((v) => v === 0)).toBe(true);

    const skipped = run(10, 2);
    await expect(carry.add(skipped.outputs, skipped.request)).rejects.toMatchObject({ code: 'INTERNAL' });

    const wrong = run(6, 2);
    wrong.request.layers[1]!.dims = [2, 4];
    const replies2 = await carry.add(wrong.outputs, wrong.request);
    expect(replies2.map((r) => r!.rows)).toEqual([2, 0]);
    expect(replies2[1]!.dims).toEqual([2, 3]);

    // A layer without a Gram spec is left to come back as rows.
    const rowsBack = run(8, 2);
    rowsBack.request.layers[1] = null;
    expect((await carry.add(rowsBack.outputs, rowsBack.request))[1]).toBeNull();
  });
});
