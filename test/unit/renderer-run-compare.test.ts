/**
 * Comparing runs: which matrices are offered, which match cell for cell (for two runs and for up
 * to six), one colour range for all, and the difference A − B checked cell by cell against a
 * direct computation, with undefined cells and their reasons.
 */
import { describe, expect, it } from 'vitest';
import type { ExperimentResult, SimilarityMatrix } from '../../app/common/contract.js';
import {
  defaultChoices,
  defaultPairing,
  difference,
  matrixChoices,
  sameCells,
  sharedRange,
} from '../../renderer/src/lib/run-compare.js';
import { numberedLayers, syntheticMatrix } from '../e2e/harness/matrices.js';

function result(matrices: SimilarityMatrix[], kind: ExperimentResult['spec']['kind'] = 'pair'): ExperimentResult {
  return {
    spec: { name: 'r', kind, models: [], probe: 'fashion-mnist:10', layers: 'all', measures: ['linear'] },
    models: [
      { path: '/a.onnx', sha256: 'a', label: 'a.onnx', layers: [] },
      { path: '/b.onnx', sha256: 'b', label: 'b.onnx', layers: [] },
    ],
    probe: { spec: 'fashion-mnist:10', hash: 'h', n: 10 },
    matrices,
    partial: false,
    provenance: { appVersion: '0', onnxruntime: '0', startedAt: '', finishedAt: '', timingsMs: {} },
  };
}

const rows = numberedLayers(4, 'r');
const cols = numberedLayers(5, 'c');
const m1 = syntheticMatrix({ rowLayers: rows, colLayers: cols, rowLabel: 'a.onnx', colLabel: 'b.onnx', seed: 1 });
const m2 = syntheticMatrix({
  rowLayers: rows,
  colLayers: cols,
  rowLabel: 'a.onnx',
  colLabel: 'b.onnx',
  seed: 2,
  undefinedCells: [{ row: 1, col: 3, reason: 'layer r.1 is constant' }],
});
const rbf: SimilarityMatrix = { ...m2, measure: { name: 'rbf', params: { threshold: 0.4 } } };
const other = syntheticMatrix({
  rowLayers: numberedLayers(4, 'x'),
  colLayers: cols,
  rowLabel: 'x',
  colLabel: 'b',
  seed: 3,
});

describe('matrices of two runs', () => {
  it('lists every matrix with its models and measure', () => {
    const choices = matrixChoices(result([m1, rbf]));
    expect(choices.map((c) => c.key)).toEqual(['m0', 'm1']);
    expect(choices.map((c) => c.label)).toEqual([
      'A × B: a.onnx × b.onnx · linear CKA',
      'A × B: a.onnx × b.onnx · RBF CKA (threshold 0.4)',
    ]);
  });

  it('pairs the first matrices that match cell for cell', () => {
    const a = matrixChoices(result([other, m1]));
    const b = matrixChoices(result([rbf, m2]));
    expect(sameCells(a[1]!, b[0]!)).toBe(false); // same layers, other measure
    expect(sameCells(a[0]!, b[1]!)).toBe(false); // same measure, other layers
    expect(defaultPairing(a, b)).toEqual(['m1', 'm1']);
    expect(defaultPairing(matrixChoices(result([other])), b)).toEqual(['m0', 'm0']);
  });

  it('chooses, for up to six runs, the first matrix every run has cell for cell', () => {
    const lists = [result([other, m1]), result([rbf, m2]), result([m2, other]), result([m1])].map(matrixChoices);
    expect(defaultChoices(lists)).toEqual(['m1', 'm1', 'm0', 'm0']);
    // A run without a match of it: its own first matrix; the others keep their match.
    expect(defaultChoices([...lists, matrixChoices(result([rbf]))])).toEqual(['m1', 'm1', 'm0', 'm0', 'm0']);
    expect(defaultChoices([lists[0]!, []])).toBeNull();
  });

  it('computes A − B cell by cell, undefined where either is, largest |difference| and where', () => {
    const [a] = matrixChoices(result([m1]));
    const [b] = matrixChoices(result([m2]));
    const diff = difference(a!, b!, { a: 'run 1', b: 'run 2' });
    let max = 0;
    let at = null as { row: number; col: number } | null;
    let sum = 0;
    for (let r = 0; r < 4; r++) {
      for (let c = 0; c < 5; c++) {
        const x = m1.matrix[r]![c]!;
        const y = m2.matrix[r]![c];
        const got = diff.data.values[r * 5 + c]!;
        if (y === null || y === undefined) {
          expect(got).toBeNaN();
          expect(diff.data.reasons.get(r * 5 + c)).toBe('undefined in run 2: layer r.1 is constant');
          continue;
        }
        expect(got).toBe(x - y);
        sum += Math.abs(x - y);
        if (Math.abs(x - y) > max) [max, at] = [Math.abs(x - y), { row: r, col: c }];
      }
    }
    expect(diff.cells).toBe(19);
    expect(diff.maxAbs).toBe(max);
    expect(diff.at).toEqual(at);
    expect(diff.meanAbs).toBeCloseTo(sum / 19, 15);
    expect(diff.range).toEqual([-max, max]);
    expect(diff.data.measure).toBe('linear CKA: run 1 − run 2');
    expect(() => difference(a!, matrixChoices(result([other]))[0]!, { a: '1', b: '2' })).toThrow(/same layers/);
  });

  it('shares one colour range: [0, 1] or the span of both', () => {
    const [a] = matrixChoices(result([m1]));
    const [b] = matrixChoices(result([m2]));
    const [c] = matrixChoices(result([other]));
    expect(sharedRange([a!.data, b!.data], 'unit')).toEqual([0, 1]);
    const all = [...m1.matrix.flat(), ...m2.matrix.flat(), ...other.matrix.flat()].filter(
      (v): v is number => v !== null,
    );
    expect(sharedRange([a!.data, b!.data, c!.data], 'data')).toEqual([Math.min(...all), Math.max(...all)]);
  });
});
