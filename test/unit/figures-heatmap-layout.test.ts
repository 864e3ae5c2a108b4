/**
 * The figure cuts no text at any label length or figure option: every text element's extent,
 * estimated with the same character widths the layout uses, lies inside the SVG's width and
 * height, and long titles are wrapped rather than cut. The options (width, origin, square cells,
 * layer indices, font size) place cells and names where they say.
 */
import { describe, expect, it } from 'vitest';
import type { SimilarityMatrix } from '../../app/common/contract.js';
import { heatmapSvg, type HeatmapSvgOptions } from '../../app/common/figures/heatmap-svg.js';
import { similarityFigure, type MatrixFigure } from '../../app/common/figures/matrix-figure.js';
import { ASCENT, DESCENT, textWidth } from '../../app/common/figures/text-extent.js';

interface Extent {
  text: string;
  x0: number;
  x1: number;
  y0: number;
  y1: number;
}

const attr = (tag: string, name: string) => new RegExp(`\\s${name}="([^"]*)"`).exec(tag)?.[1];

function unescape(text: string): string {
  return text.replace(/&#(\d+);/g, (_, code: string) => String.fromCharCode(Number(code)));
}

/** Each <text>'s box: along the text from its anchor, across it from its baseline; turned texts rotated back. */
function textExtents(svg: string): { width: number; height: number; texts: Extent[] } {
  const root = /<svg[^>]*>/.exec(svg)![0];
  const width = Number(attr(root, 'width'));
  const height = Number(attr(root, 'height'));
  const rootSize = Number(attr(root, 'font-size'));
  const texts = [...svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)].map(([, tag, body]) => {
    const text = unescape(body!);
    const size = Number(attr(tag!, 'font-size') ?? rootSize);
    const w = textWidth(text, size, attr(tag!, 'font-weight') === '600');
    const anchor = attr(tag!, 'text-anchor') ?? 'start';
    const [u0, u1] = anchor === 'end' ? [-w, 0] : anchor === 'middle' ? [-w / 2, w / 2] : [0, w];
    const [v0, v1] =
      attr(tag!, 'dominant-baseline') === 'central' ? [-size / 2, size / 2] : [-ASCENT * size, DESCENT * size];
    const transform = attr(tag!, 'transform');
    if (transform) {
      const [, tx, ty] = /^translate\(([\d.-]+) ([\d.-]+)\) rotate\(-90\)$/.exec(transform)!.map(Number);
      // rotate(-90) takes the text's direction (u) to −y and its downward side (v) to +x.
      return { text, x0: tx! + v0, x1: tx! + v1, y0: ty! - u1, y1: ty! - u0 };
    }
    const x = Number(attr(tag!, 'x'));
    const y = Number(attr(tag!, 'y'));
    return { text, x0: x + u0, x1: x + u1, y0: y + v0, y1: y + v1 };
  });
  return { width, height, texts };
}

function expectNothingCut(svg: string): void {
  const { width, height, texts } = textExtents(svg);
  expect(texts.length).toBeGreaterThan(0);
  for (const t of texts) {
    expect(t.x0, t.text).toBeGreaterThanOrEqual(0);
    expect(t.y0, t.text).toBeGreaterThanOrEqual(0);
    expect(t.x1, t.text).toBeLessThanOrEqual(width);
    expect(t.y1, t.text).toBeLessThanOrEqual(height);
  }
}

function matrixOf(
  rows: number,
  cols: number,
  modelLabel: string,
  layerName: (i: number) => string,
  colModelLabel = `${modelLabel}-other`,
): SimilarityMatrix {
  const layers = (n: number) => Array.from({ length: n }, (_, i) => ({ tensor: `t${i}`, name: layerName(i) }));
  return {
    measure: { name: 'linear', params: {} },
    n: 12345,
    rows: { model: 0, label: modelLabel, layers: layers(rows) },
    cols: { model: 1, label: colModelLabel, layers: layers(cols) },
    matrix: Array.from({ length: rows }, (_, r) => Array.from({ length: cols }, (_, c) => ((r + c) % 7) / 6)),
    undefined: [],
  };
}

const longLabel = `WideModel_${'Wm'.repeat(95)}.onnx`;
const longLayer = (i: number) => `/encoder/layer.${i}/attention/WWW/${'M'.repeat(60)}`.slice(0, 60);

describe('no text is cut', () => {
  const cases: [string, MatrixFigure, HeatmapSvgOptions][] = [
    [
      'a 200-character model label, 60-character layer names, few rows',
      similarityFigure(matrixOf(3, 4, longLabel, longLayer)),
      {},
    ],
    [
      'the same on many rows and columns',
      similarityFigure(matrixOf(60, 45, longLabel, longLayer)),
      { bestMatch: true },
    ],
    [
      'a long row label beside a short column label',
      similarityFigure(matrixOf(4, 4, longLabel, longLayer, 'b.onnx')),
      {},
    ],
    ['a short label along tall rows', similarityFigure(matrixOf(30, 2, 'net.onnx', longLayer)), {}],
    ['one cell, no title', { ...similarityFigure(matrixOf(1, 1, 'ÜnïcödeモデルWW', () => 'x')), title: '' }, {}],
    [
      'a long colour-bar label, values outside the range, large type',
      {
        ...similarityFigure(matrixOf(2, 3, longLabel, (i) => `l${i}`)),
        values: [
          [-3, 0.5, 2],
          [null, 1, 0],
        ],
        valueLabel: 'std over pairs of minibatch CKA (batch 256) with a much longer explanation than usual',
        title: `a title line that is longer than the whole plot: ${longLabel}`,
      },
      { fontSize: 16, cellSize: 3, range: [-0.001, 1000.5] },
    ],
  ];

  const paper: HeatmapSvgOptions = { width: 520, origin: 'bottom', squareCells: false, fontSize: 13, bestMatch: true };
  const withOptions: [string, MatrixFigure, HeatmapSvgOptions][] = cases.flatMap(([name, figure]) => [
    [`${name}, in a 520 px paper style`, figure, paper],
    [`${name}, with layer indices 300 px wide`, figure, { axisLabels: 'indices', width: 300 }],
  ]);

  it.each([...cases, ...withOptions])('%s', (_, figure, options) => {
    const svg = heatmapSvg(figure, options);
    expectNothingCut(svg);
    // The model label is written in full (wrapped over lines if need be), not shortened.
    const written = textExtents(svg)
      .texts.map((t) => t.text)
      .join('');
    expect(written).toContain(figure.rows.title.slice(-40));
    // Never narrower than asked (wider only when the names alone need more).
    if (options.width !== undefined) expect(textExtents(svg).width).toBeGreaterThanOrEqual(options.width);
  });

  it('puts the row title along the rows when they are tall enough, above them otherwise', () => {
    const along = heatmapSvg(similarityFigure(matrixOf(30, 2, 'net.onnx', (i) => `l${i}`)));
    expect(along).toMatch(/<text transform="translate\([\d.]+ [\d.]+\) rotate\(-90\)"[^>]*>rows: model A: net\.onnx</);
    const above = heatmapSvg(similarityFigure(matrixOf(3, 2, longLabel, (i) => `l${i}`)));
    expect(above).toMatch(/<text x="[\d.]+" y="[\d.]+"[^>]*>rows: model A:/);
  });
});

/** The cell rects in row-major order: x, y, width, height. */
function cellRects(svg: string): number[][] {
  const group = svg.split('<g shape-rendering="crispEdges">')[1]!.split('</g>')[0]!;
  return [...group.matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) =>
    m.slice(1, 5).map(Number),
  );
}

describe('figure options', () => {
  const figure = similarityFigure(matrixOf(3, 5, 'net.onnx', (i) => `layer.${i}`));

  it('puts row 0 at the bottom with origin "bottom", names following their rows', () => {
    const top = cellRects(heatmapSvg(figure));
    const bottom = cellRects(heatmapSvg(figure, { origin: 'bottom' }));
    const rowY = (rects: number[][], r: number) => rects[r * 5]![1]!;
    expect(rowY(top, 0)).toBeLessThan(rowY(top, 2));
    expect(rowY(bottom, 0)).toBeGreaterThan(rowY(bottom, 2));
    expect(rowY(bottom, 0)).toBe(rowY(top, 2));
    const nameY = (svg: string, name: string) => Number(new RegExp(`y="([\\d.]+)"[^>]*>${name}<`).exec(svg)![1]);
    const svg = heatmapSvg(figure, { origin: 'bottom' });
    expect(nameY(svg, 'layer.0')).toBeCloseTo(rowY(bottom, 0) + bottom[0]![3]! / 2, 1);
  });

  it('keeps cells square by default, and makes the plot square without', () => {
    const [cell] = cellRects(heatmapSvg(figure));
    expect(cell![2]).toBe(cell![3]);
    const stretched = cellRects(heatmapSvg(figure, { squareCells: false }));
    const plotW = stretched.slice(0, 5).reduce((w, r) => w + r[2]!, 0);
    const plotH = [0, 1, 2].reduce((h, r) => h + stretched[r * 5]![3]!, 0);
    expect(plotW).toBeCloseTo(plotH, 1);
    expect(stretched[0]![3]! / stretched[0]![2]!).toBeCloseTo(5 / 3, 1);
  });

  it('fills the width asked for with its cells', () => {
    expect(textExtents(heatmapSvg(figure, { width: 400 })).width).toBe(400);
    expect(textExtents(heatmapSvg(figure, { width: 900, squareCells: false })).width).toBe(900);
    const narrow = cellRects(heatmapSvg(figure, { width: 400 }));
    const wide = cellRects(heatmapSvg(figure, { width: 900 }));
    expect(wide[0]![2]!).toBeGreaterThan(narrow[0]![2]! * 2);
    // Neighbours meet exactly: no gaps or overlaps from rounding.
    for (const rects of [narrow, wide])
      for (let c = 0; c < 4; c++) expect(rects[c]![0]! + rects[c]![2]!).toBeCloseTo(rects[c + 1]![0]!, 6);
  });

  it('writes layer positions 1, 2, … instead of names, and says so on the axes', () => {
    const svg = heatmapSvg(figure, { axisLabels: 'indices' });
    expect(svg).not.toContain('>layer.0<');
    for (const i of [1, 2, 3]) expect(svg).toMatch(new RegExp(`text-anchor="end" dominant-baseline="central">${i}<`));
    expect(svg).toContain('rows: model A: net.onnx (layer 1, 2, …)');
  });

  it('sizes text by the font size', () => {
    const small = heatmapSvg(figure, { fontSize: 9 });
    const large = heatmapSvg(figure, { fontSize: 20 });
    expect(small).toContain('font-size="9"');
    expect(large).toContain('font-size="20"');
    expect(textExtents(large).width).toBeGreaterThan(textExtents(small).width);
  });

  it('shortens a layer name longer than 64 characters in the middle, keeping its end', () => {
    const long = `/encoder/${'block'.repeat(20)}/attention/out_proj`;
    const svg = heatmapSvg(similarityFigure(matrixOf(2, 2, 'net.onnx', () => long)));
    expect(svg).toContain('/attention/out_proj<');
    expect(svg).toContain('/encoder/');
    expect(svg).toContain('…');
  });
});
