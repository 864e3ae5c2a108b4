import { describe, expect, it } from 'vitest';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { csvText, matrixCsv } from '../../app/common/figures/csv.js';
import { similarityFigure } from '../../app/common/figures/matrix-figure.js';
import { fileStem } from '../../app/common/figures/names.js';
import { heatmapFromSimilarity } from '../../renderer/src/charts/heatmap-data.js';
import { heatmapToCsv } from '../../renderer/src/lib/matrix-export.js';

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

describe('matrix export', () => {
  it('writes CSV that parses back to the same doubles and names', () => {
    const csv = matrixCsv(similarityFigure(matrix));
    const lines = csv.trimEnd().split('\n');
    expect(lines[0]).toBe('rows: model A: a.onnx \\ columns: model B: b.onnx,"say ""hi""",fc,out');
    expect(lines[1]).toBe(`"conv, 1",${0.1 + 0.2},,-0.015625`);
    // A name that a spreadsheet would evaluate is written as text.
    expect(lines[2]).toBe("'=SUM(A1),1,0.123456789012345,1e-17");
    expect(Number(lines[1]!.split(',')[2])).toBe(0.30000000000000004);
  });

  it("is the page's CSV too: the heatmap on screen writes the same bytes", () => {
    expect(heatmapToCsv(heatmapFromSimilarity(matrix))).toBe(matrixCsv(similarityFigure(matrix)));
  });

  it('quotes only where needed and defuses formula-like text', () => {
    expect(csvText('layer1.relu')).toBe('layer1.relu');
    expect(csvText('a,b')).toBe('"a,b"');
    expect(csvText('+1')).toBe("'+1");
    expect(csvText('@x,y')).toBe('"\'@x,y"');
  });

  it('makes safe file names', () => {
    expect(fileStem('resnet18.onnx-vs-my net/v2.onnx-linear')).toBe('resnet18-vs-my_net_v2-linear');
    expect(fileStem('../../etc')).toBe('etc');
    expect(fileStem('.hidden net.onnx')).toBe('hidden_net');
    expect(fileStem('???')).toBe('matrix');
  });
});
