import { describe, expect, it } from 'vitest';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { heatmapFromSimilarity, transposeHeatmap } from '../../renderer/src/charts/heatmap-data.js';

const matrix: SimilarityMatrix = {
  measure: { name: 'rbf', params: { threshold: 0.4 } },
  n: 64,
  rows: {
    model: 0,
    label: 'a.onnx',
    layers: [
      { tensor: 't0', name: 'conv, 1' },
      { tensor: 't1', name: '=SUM(A1)' },
    ],
  },
  cols: {
    model: 1,
    label: 'b.onnx',
    layers: [
      { tensor: 'u0', name: 'say "hi"' },
      { tensor: 'u1', name: 'fc' },
      { tensor: 'u2', name: 'out' },
    ],
  },
  matrix: [
    [0.1 + 0.2, null, -0.015625],
    [1, 0.123456789012345, 1e-17],
  ],
  undefined: [{ row: 0, col: 1, reason: 'constant layer' }],
};

describe('heatmap data', () => {
  it('flattens a similarity matrix with NaN for null and keeps the reasons', () => {
    const data = heatmapFromSimilarity(matrix);
    expect(data.rows.title).toBe('model A: a.onnx');
    expect(data.cols.title).toBe('model B: b.onnx');
    expect(data.measure).toBe('RBF CKA (threshold 0.4)');
    expect([...data.values]).toEqual([0.1 + 0.2, NaN, -0.015625, 1, 0.123456789012345, 1e-17]);
    expect(data.reasons.get(1)).toBe('constant layer');
    expect(() => heatmapFromSimilarity({ ...matrix, matrix: [[1, 2, 3]] })).toThrow(/not 2 × 3/);
  });

  it('transposes values, names and reasons together', () => {
    const t = transposeHeatmap(heatmapFromSimilarity(matrix));
    expect(t.rows.title).toBe('model B: b.onnx');
    expect(t.rows.labels).toEqual(['say "hi"', 'fc', 'out']);
    expect([...t.values]).toEqual([0.1 + 0.2, 1, NaN, 0.123456789012345, -0.015625, 1e-17]);
    expect(t.reasons.get(2)).toBe('constant layer');
  });
});
