/** Exports of a result: CSV (formula-safe, full precision), NPY (float64, NaN where undefined), SVG (escaped, labelled). */
import { describe, expect, it } from 'vitest';
import type { ExperimentResult } from '../../app/common/contract.js';
import { parseNpy } from '../../app/engine/io/npy.js';
import { csvText } from '../../app/common/figures/csv.js';
import { fileStem } from '../../app/common/figures/names.js';
import { exportResult } from '../../app/engine/experiments/export/export-result.js';

const layersA = [
  { tensor: 'a0', name: '=cmd|calc' },
  { tensor: 'a1', name: 'block "2", relu' },
];
const layersB = [
  { tensor: 'b0', name: '<script>' },
  { tensor: 'b1', name: 'b1' },
  { tensor: 'b2', name: 'b2' },
];

const result: ExperimentResult = {
  spec: {
    name: 'my run: A/B',
    kind: 'pair',
    models: [{ path: '/a.onnx' }, { path: '/b.onnx' }],
    probe: 'random:10',
    layers: 'all',
    measures: ['linear'],
  },
  models: [
    { path: '/a.onnx', sha256: 'a'.repeat(64), label: 'a.onnx', layers: layersA },
    { path: '/b.onnx', sha256: 'b'.repeat(64), label: 'b.onnx', layers: layersB },
  ],
  probe: { spec: 'random:10', hash: 'h', n: 10 },
  matrices: [
    {
      measure: { name: 'linear', params: {} },
      n: 10,
      rows: { model: 0, label: 'a.onnx', layers: layersA },
      cols: { model: 1, label: 'b.onnx', layers: layersB },
      matrix: [
        [0.1234567890123456, null, 1],
        [0, 0.5, -0.25],
      ],
      undefined: [{ row: 0, col: 1, reason: 'constant' }],
    },
  ],
  partial: false,
  provenance: { appVersion: 'v', onnxruntime: 'o', startedAt: 's', finishedAt: 'f', timingsMs: {} },
};

describe('exports', () => {
  it('CSV: which model is which axis, layer names made safe, every digit of every value', () => {
    const file = exportResult(result, { runId: 'r', format: 'csv' });
    expect(file.fileName).toBe('my_run_A_B-a-vs-b-linear.csv');
    expect(file.data.split('\n')).toEqual([
      'rows: model A: a.onnx \\ columns: model B: b.onnx,<script>,b1,b2',
      "'=cmd|calc,0.1234567890123456,,1",
      '"block ""2"", relu",0,0.5,-0.25',
      '',
    ]);
    expect(csvText('+1')).toBe("'+1");
  });

  it('NPY: float64 rows × cols with NaN where undefined', () => {
    const file = exportResult(result, { runId: 'r', format: 'npy' });
    expect(file.encoding).toBe('base64');
    const array = parseNpy(Buffer.from(file.data, 'base64'));
    expect(array.header).toMatchObject({ dtype: 'float64', shape: [2, 3] });
    expect(Array.from(array.data as Float64Array)).toEqual([0.1234567890123456, NaN, 1, 0, 0.5, -0.25]);
  });

  it('SVG: escaped labels, axis titles, hatched undefined cells, values outside the scale said to be clamped', () => {
    const svg = exportResult(result, { runId: 'r', format: 'svg' }).data;
    expect(svg).toContain('&#60;script&#62;');
    expect(svg).not.toContain('<script>');
    expect(svg).toContain('rows: model A: a.onnx');
    expect(svg).toContain('columns: model B: b.onnx');
    expect(svg.match(/url\(#undefined-cell\)/g)).toHaveLength(1);
    // −0.25 lies below the [0, 1] scale the page uses by default: drawn in the end colour, and said so.
    expect(svg).toContain('values outside are clamped');
  });

  it('JSON is the whole result; a missing matrix or summary is NOT_FOUND', () => {
    expect(JSON.parse(exportResult(result, { runId: 'r', format: 'json' }).data)).toEqual(result);
    expect(() => exportResult(result, { runId: 'r', format: 'csv', matrix: 3 })).toThrow(
      /has 1 matrices; there is no matrix 3/,
    );
    expect(() => exportResult(result, { runId: 'r', format: 'csv', seeds: { measure: 0, statistic: 'mean' } })).toThrow(
      /no seeds summary/,
    );
    expect(fileStem('../../etc/passwd', 'result')).toBe('etc_passwd');
  });
});
