import { describe, expect, it } from 'vitest';
import { interpolateViridis } from 'd3-scale-chromatic';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { heatmapSvg } from '../../app/common/figures/heatmap-svg.js';
import { similarityFigure } from '../../app/common/figures/matrix-figure.js';

const colors = Array.from({ length: 256 }, (_, i) => interpolateViridis(i / 255));

const matrix: SimilarityMatrix = {
  measure: { name: 'linear', params: {} },
  n: 10,
  rows: { model: 0, label: 'net<1>.onnx', layers: ['a', 'b', 'c'].map((n) => ({ tensor: n, name: n })) },
  cols: {
    model: 1,
    label: 'other.onnx',
    layers: ['x', '<script>alert(1)</script>'].map((n) => ({ tensor: n, name: n })),
  },
  matrix: [
    [0.25, 0.75],
    [null, 0.5],
    [1.2, -0.1],
  ],
  undefined: [{ row: 1, col: 0, reason: 'constant' }],
};

function cellRects(svg: string) {
  const group = svg.split('<g shape-rendering="crispEdges">')[1]!.split('</g>')[0]!;
  return [...group.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="(\d+)" height="(\d+)" fill="([^"]+)"\/>/g)];
}

describe('heatmapSvg', () => {
  const svg = heatmapSvg(
    { ...similarityFigure(matrix), title: 'linear CKA' },
    { colormap: 'viridis', bestMatch: true },
  );

  it('draws one rect per cell in its colormap colour, undefined ones hatched', () => {
    const rects = cellRects(svg);
    expect(rects.map((r) => r[5])).toEqual([
      colors[64],
      colors[191],
      'url(#undefined-cell)',
      colors[128],
      colors[255], // 1.2 clamps to the top
      colors[0], // −0.1 clamps to the bottom
    ]);
    // Row-major, one cell-size apart.
    const size = Number(rects[0]![3]);
    expect(Number(rects[1]![1]) - Number(rects[0]![1])).toBe(size);
    expect(Number(rects[2]![2]) - Number(rects[0]![2])).toBe(size);
    expect(svg).toContain('values outside are clamped');
  });

  it('names the models on the axes and escapes names from the model files', () => {
    expect(svg).toContain('rows: model A: net&#60;1&#62;.onnx');
    expect(svg).toContain('columns: model B: other.onnx');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
  });

  it("marks each row's best match", () => {
    const circles = [...svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)].map((m) => [Number(m[1]), Number(m[2])]);
    const rects = cellRects(svg);
    const centre = (i: number) => [
      Number(rects[i]![1]) + Number(rects[i]![3]) / 2,
      Number(rects[i]![2]) + Number(rects[i]![4]) / 2,
    ];
    // Rows' argmax: col 1 (0.75), col 1 (0.5; col 0 undefined), col 0 (1.2).
    expect(circles).toEqual([centre(1), centre(3), centre(4)]);
  });

  it('is well-formed and refuses a matrix that does not fit its labels', () => {
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg.endsWith('</svg>')).toBe(true);
    expect(() => heatmapSvg({ ...similarityFigure(matrix), values: [[1, 2]] })).toThrow(/not 3 × 2/);
  });
});
