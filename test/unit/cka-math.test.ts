/**
 * The CKA core's pure math against direct full-matrix computations: packed indexing, centring
 * views (H K H and U-centring written out as in the CKA demo), the RBF median over all n²
 * distances, quickselect, the shared seeded generator and numpy's percentile.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { percentileOfSorted } from '../../app/engine/cka/bootstrap.js';
import {
  centredInnerProduct,
  centredView,
  materialiseCentred,
  materialiseCentredFull,
} from '../../app/engine/cka/centring.js';
import { centredTraces, kernelSummary, shiftFromSummary } from '../../app/engine/cka/centred-traces.js';
import { parseMeasure } from '../../app/engine/cka/measures.js';
import {
  packedIndex,
  packedLength,
  packedRowOf,
  packedRowStart,
  packedRowSums,
  packSymmetric,
  unpackSymmetric,
} from '../../app/engine/cka/packed.js';
import { medianSquaredDistance, selectInPlace, squaredDistancesFromGram } from '../../app/engine/cka/rbf.js';
import { bootstrapCounts, Mulberry32, seededPermutation } from '../../app/engine/cka/rng.js';

const fixtures = JSON.parse(
  readFileSync(fileURLToPath(new URL('../fixtures/cka/expected.json', import.meta.url)), 'utf8'),
) as {
  mulberry32Seed42: number[];
  wide: { minibatch8Shuffled7: { permutation: number[] } };
};

function randomSymmetric(n: number, rng: Mulberry32): Float64Array {
  const full = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = i; j < n; j++) {
      const v = rng.nextUint32() / 2 ** 32 - 0.3;
      full[i * n + j] = v;
      full[j * n + i] = v;
    }
  }
  return full;
}

/** H K H with H = I − 11ᵀ/n, as matrix products. */
function doubleCentredReference(full: Float64Array, n: number): Float64Array {
  const h = (i: number, j: number) => (i === j ? 1 : 0) - 1 / n;
  const hk = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) hk[i * n + j]! += h(i, l) * full[l * n + j]!;
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let l = 0; l < n; l++) out[i * n + j]! += hk[i * n + l]! * h(l, j);
  return out;
}

/** U-centring (Székely & Rizzo 2014) written out entry by entry. */
function uCentredReference(full: Float64Array, n: number): Float64Array {
  const off = (i: number, j: number) => (i === j ? 0 : full[i * n + j]!);
  const rowSum = (i: number) => Array.from({ length: n }, (_, j) => off(i, j)).reduce((a, b) => a + b, 0);
  let total = 0;
  for (let i = 0; i < n; i++) total += rowSum(i);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      out[i * n + j] =
        i === j ? 0 : off(i, j) - rowSum(i) / (n - 2) - rowSum(j) / (n - 2) + total / ((n - 1) * (n - 2));
    }
  }
  return out;
}

describe('packed symmetric matrices', () => {
  it('index, row start and row-of agree for every entry', () => {
    for (const n of [1, 2, 5, 37]) {
      let k = 0;
      for (let i = 0; i < n; i++) {
        expect(packedRowStart(n, i)).toBe(k);
        for (let j = i; j < n; j++, k++) {
          expect(packedIndex(n, i, j)).toBe(k);
          expect(packedIndex(n, j, i)).toBe(k);
          expect(packedRowOf(n, k)).toBe(i);
        }
      }
      expect(k).toBe(packedLength(n));
    }
    // a large n, where the closed form needs its rounding correction
    const n = 50_000;
    for (const i of [0, 1, 12_345, 49_998, 49_999]) {
      expect(packedRowOf(n, packedRowStart(n, i))).toBe(i);
      if (i > 0) expect(packedRowOf(n, packedRowStart(n, i) - 1)).toBe(i - 1);
    }
  });

  it('packs, unpacks and sums rows like the full matrix', () => {
    const n = 9;
    const full = randomSymmetric(n, new Mulberry32(1));
    const packed = packSymmetric(full, n);
    expect(Array.from(unpackSymmetric(packed, n, new Float64Array(n * n)))).toEqual(Array.from(full));
    const sums = packedRowSums(packed, n);
    const sumsOff = packedRowSums(packed, n, true);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let j = 0; j < n; j++) s += full[i * n + j]!;
      expect(sums[i]).toBeCloseTo(s, 13);
      expect(sumsOff[i]).toBeCloseTo(s - full[i * n + i]!, 13);
    }
  });
});

describe('centring views', () => {
  const n = 11;
  const full = randomSymmetric(n, new Mulberry32(2));
  const other = randomSymmetric(n, new Mulberry32(3));
  const packed = packSymmetric(full, n);

  it('biased centring equals H K H', () => {
    const reference = doubleCentredReference(full, n);
    const view = centredView(packed, n, 'biased');
    const fullOut = materialiseCentredFull(view, new Float64Array(n * n));
    fullOut.forEach((v, e) => expect(v).toBeCloseTo(reference[e]!, 13));
    const packedOut = materialiseCentred(view);
    packedOut.forEach((v, k) => expect(v).toBeCloseTo(packSymmetric(reference, n)[k]!, 13));
  });

  it('U-centring equals the entrywise formula, zero diagonal included', () => {
    const reference = uCentredReference(full, n);
    const fullOut = materialiseCentredFull(centredView(packed, n, 'unbiased'), new Float64Array(n * n));
    fullOut.forEach((v, e) => expect(v).toBeCloseTo(reference[e]!, 13));
  });

  it('both centrings ignore added row/column shifts a·1ᵀ + 1·aᵀ (so they can start from a centred Gram)', () => {
    const shifted = new Float64Array(full);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) shifted[i * n + j]! += 0.7 * i - 0.2 * j + (0.7 * j - 0.2 * i) + 3;
    for (const mode of ['biased', 'unbiased'] as const) {
      const a = materialiseCentredFull(centredView(packed, n, mode), new Float64Array(n * n));
      const b = materialiseCentredFull(centredView(packSymmetric(shifted, n), n, mode), new Float64Array(n * n));
      a.forEach((v, e) => expect(v).toBeCloseTo(b[e]!, 12));
    }
  });

  it('centred traces from raw packed products and O(n) corrections equal tr(ÃB̃) of the materialised kernels', () => {
    const packedOther = packSymmetric(other, n);
    let raw = 0; // Σ_{i≤j} A_ij B_ij
    let rawSelfA = 0; // Σ_{i≤j} A_ij²
    for (let k = 0; k < packed.length; k++) {
      raw += packed[k]! * packedOther[k]!;
      rawSelfA += packed[k]! * packed[k]!;
    }
    const summaries = [kernelSummary(packed, n), kernelSummary(packedOther, n)];
    for (const mode of ['biased', 'unbiased'] as const) {
      const a = centredView(packed, n, mode);
      const b = centredView(packedOther, n, mode);
      shiftFromSummary(summaries[0]!, mode).forEach((v, i) => expect(v).toBeCloseTo(a.shift[i]!, 14));
      const fa = materialiseCentredFull(a, new Float64Array(n * n));
      const fb = materialiseCentredFull(b, new Float64Array(n * n));
      let trace = 0;
      let selfA = 0;
      for (let e = 0; e < n * n; e++) {
        trace += fa[e]! * fb[e]!;
        selfA += fa[e]! * fa[e]!;
      }
      expect(centredInnerProduct(a, b)).toBeCloseTo(trace, 12);
      const traces = centredTraces(Float64Array.from([rawSelfA, raw, raw, 0]), summaries, mode);
      expect(traces[1]).toBeCloseTo(trace, 12);
      expect(traces[2]).toBeCloseTo(trace, 12);
      expect(traces[0]).toBeCloseTo(selfA, 12);
    }
  });

  it('refuses U-centring below 4 examples', () => {
    expect(() => centredView(packSymmetric(randomSymmetric(3, new Mulberry32(4)), 3), 3, 'unbiased')).toThrow(
      /at least 4 examples/,
    );
  });
});

describe('RBF bandwidth', () => {
  it("is the median of all n² squared distances, diagonal zeros included (numpy's even-count median)", () => {
    const rng = new Mulberry32(9);
    for (const n of [2, 3, 6, 13]) {
      const p = 4;
      const x = Array.from({ length: n * p }, () => rng.nextUint32() / 2 ** 32);
      const gramFull = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) for (let f = 0; f < p; f++) gramFull[i * n + j]! += x[i * p + f]! * x[j * p + f]!;
      const all: number[] = [];
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let d = 0;
          for (let f = 0; f < p; f++) d += (x[i * p + f]! - x[j * p + f]!) ** 2;
          all.push(d);
        }
      }
      all.sort((a, b) => a - b);
      const m = n * n;
      const reference = m % 2 ? all[(m - 1) / 2]! : (all[m / 2 - 1]! + all[m / 2]!) / 2;
      const distances = squaredDistancesFromGram(packSymmetric(gramFull, n), n);
      expect(medianSquaredDistance(distances, n)).toBeCloseTo(reference, 12);
    }
  });

  it('quickselect finds every order statistic, with ties', () => {
    const values = [5, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8, 9, 7, 9, 3, 2, 3, 8, 4];
    const sorted = [...values].sort((a, b) => a - b);
    sorted.forEach((v, k) => expect(selectInPlace(Float64Array.from(values), k)).toBe(v));
  });
});

describe('seeded generator (shared with the fixture script)', () => {
  it('produces the same mulberry32 stream as the Python reference', () => {
    const rng = new Mulberry32(42);
    expect(fixtures.mulberry32Seed42.map(() => rng.nextUint32())).toEqual(fixtures.mulberry32Seed42);
  });

  it('produces the same shuffle as the Python reference', () => {
    expect(Array.from(seededPermutation(36, 7))).toEqual(fixtures.wide.minibatch8Shuffled7.permutation);
  });

  it('bootstrap multiplicities add up to n per resample', () => {
    const n = 17;
    const samples = 5;
    const counts = bootstrapCounts(n, samples, 3);
    for (let s = 0; s < samples; s++) {
      let total = 0;
      for (let i = 0; i < n; i++) total += counts[i * samples + s]!;
      expect(total).toBe(n);
    }
  });

  it("percentiles interpolate linearly like numpy's default", () => {
    const sorted = [1, 2, 4, 8, 16];
    expect(percentileOfSorted(sorted, 0)).toBe(1);
    expect(percentileOfSorted(sorted, 1)).toBe(16);
    expect(percentileOfSorted(sorted, 0.5)).toBe(4);
    expect(percentileOfSorted(sorted, 0.1)).toBeCloseTo(1.4, 14); // h = 0.4
    expect(percentileOfSorted(sorted, 0.975)).toBeCloseTo(8 + 0.9 * 8, 14); // h = 3.9
  });
});

describe('measure names', () => {
  it('parses the CLI forms', () => {
    expect(parseMeasure('linear')).toEqual({ name: 'linear' });
    expect(parseMeasure('rbf:0.5')).toEqual({ name: 'rbf', threshold: 0.5 });
    expect(parseMeasure('debiased')).toEqual({ name: 'debiased' });
    expect(parseMeasure('debiased-rbf:1')).toEqual({ name: 'debiased', rbfThreshold: 1 });
    expect(parseMeasure('minibatch:100')).toEqual({ name: 'minibatch', batchSize: 100 });
    expect(parseMeasure('minibatch:64:7')).toEqual({ name: 'minibatch', batchSize: 64, shuffleSeed: 7 });
  });

  it('rejects malformed ones with a clear message', () => {
    expect(() => parseMeasure('rbf')).toThrow(/threshold must be a positive number/);
    expect(() => parseMeasure('rbf:-1')).toThrow(/positive/);
    expect(() => parseMeasure('minibatch:3')).toThrow(/≥ 4/);
    expect(() => parseMeasure('minibatch:10.5')).toThrow(/integer/);
    expect(() => parseMeasure('cosine')).toThrow(/unknown measure 'cosine'/);
  });
});
