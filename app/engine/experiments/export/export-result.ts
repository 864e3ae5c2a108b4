/**
 * A run's result as a file: `json` is the whole ExperimentResult; `csv`, `npy` (float64 [rows,
 * cols], NaN where undefined) and `svg` (heatmap) hold one matrix, or for seeds runs the mean or
 * standard deviation over pairs of one measure.
 */
import type { ExperimentResult, ExportRequest, ExportedFile } from '../../../common/contract.js';
import { WorkbenchError } from '../../../common/errors.js';
import { encodeNpy } from '../../io/npy.js';
import { measureTitle } from '../../../common/measures.js';
import { measureLabel } from '../matrices.js';
import { heatmapSvg } from './svg.js';

/** The grid of numbers a csv/npy/svg export holds, with what its axes are. */
export interface ExportTable {
  values: (number | null)[][];
  rowLabels: string[];
  colLabels: string[];
  rowTitle: string;
  colTitle: string;
  title: string;
  stem: string;
}

/** Model 0 is "A", 1 is "B", …; past Z, "M27" (the renderer's model-names.ts names them the same way). */
export function modelLetter(index: number): string {
  return index >= 0 && index < 26 ? String.fromCharCode(65 + index) : `M${index + 1}`;
}

/** Letters, digits, dot, dash and underscore only, no leading dot: safe as a file name anywhere. */
export function fileStem(text: string, fallback = 'result'): string {
  const stem = text
    .replace(/\.onnx\b/gi, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[_.]+|_+$/g, '');
  return stem.slice(0, 120) || fallback;
}

export function exportTable(result: ExperimentResult, request: Pick<ExportRequest, 'matrix' | 'seeds'>): ExportTable {
  const name = result.spec.name;
  if (request.seeds) {
    const summary = result.seeds?.[request.seeds.measure];
    if (!summary) {
      throw new WorkbenchError(
        'NOT_FOUND',
        result.seeds
          ? `the result has ${result.seeds.length} seeds summaries; there is no measure ${request.seeds.measure}`
          : 'this result has no seeds summary',
      );
    }
    const reference = result.models[0]!;
    const labels = reference.layers.map((l) => l.name);
    const statistic = request.seeds.statistic;
    return {
      values: statistic === 'mean' ? summary.mean : summary.std,
      rowLabels: labels,
      colLabels: labels,
      rowTitle: `seed i (layers of ${reference.label})`,
      colTitle: 'seed j ≠ i (same layers)',
      title: `${name}: ${statistic === 'mean' ? 'mean' : 'standard deviation'} of ${measureTitle(summary.measure)} over ${summary.accuracyPerPair.length} ordered pairs`,
      stem: fileStem(`${name}-seeds-${statistic}-${measureLabel(summary.measure)}`),
    };
  }
  const index = request.matrix ?? 0;
  const matrix = result.matrices[index];
  if (!matrix) {
    throw new WorkbenchError(
      'NOT_FOUND',
      `the result has ${result.matrices.length} matrices; there is no matrix ${index}`,
    );
  }
  const side = (s: typeof matrix.rows) => `${modelLetter(s.model)} · ${s.label}`;
  return {
    values: matrix.matrix,
    rowLabels: matrix.rows.layers.map((l) => l.name),
    colLabels: matrix.cols.layers.map((l) => l.name),
    rowTitle: side(matrix.rows),
    colTitle: side(matrix.cols),
    title: `${measureTitle(matrix.measure)} · ${matrix.n} examples`,
    stem: fileStem(`${name}-${matrix.rows.label}-vs-${matrix.cols.label}-${measureLabel(matrix.measure)}`),
  };
}

/**
 * A CSV cell: quoted when it holds a separator, quote or line break; text that a spreadsheet
 * would take for a formula (layer names come from model files, i.e. from strangers) gets a
 * leading apostrophe.
 */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** rows × cols with the column layers as header, the row layers first; full precision, empty where undefined. */
export function tableToCsv(table: ExportTable): string {
  const lines = [[`rows: ${table.rowTitle} \\ columns: ${table.colTitle}`, ...table.colLabels].map(csvText)];
  table.values.forEach((row, r) => {
    lines.push([csvText(table.rowLabels[r]!), ...row.map((v) => (v === null ? '' : String(v)))]);
  });
  return lines.map((cells) => cells.join(',')).join('\n') + '\n';
}

export function tableToNpy(table: ExportTable): Uint8Array {
  const rows = table.values.length;
  const cols = table.colLabels.length;
  const data = new Float64Array(rows * cols);
  table.values.forEach((row, r) => row.forEach((v, c) => (data[r * cols + c] = v === null ? NaN : v)));
  return encodeNpy(data, [rows, cols]);
}

export function exportResult(result: ExperimentResult, request: ExportRequest): ExportedFile {
  if (request.format === 'json') {
    const data = JSON.stringify(result, null, 1) + '\n';
    return {
      fileName: `${fileStem(result.spec.name)}.json`,
      mediaType: 'application/json',
      encoding: 'utf8',
      data,
      bytes: Buffer.byteLength(data),
    };
  }
  const table = exportTable(result, request);
  switch (request.format) {
    case 'csv': {
      const data = tableToCsv(table);
      return {
        fileName: `${table.stem}.csv`,
        mediaType: 'text/csv',
        encoding: 'utf8',
        data,
        bytes: Buffer.byteLength(data),
      };
    }
    case 'svg': {
      const data = heatmapSvg({ ...table, matrix: table.values });
      return {
        fileName: `${table.stem}.svg`,
        mediaType: 'image/svg+xml',
        encoding: 'utf8',
        data,
        bytes: Buffer.byteLength(data),
      };
    }
    case 'npy': {
      const bytes = tableToNpy(table);
      return {
        fileName: `${table.stem}.npy`,
        mediaType: 'application/octet-stream',
        encoding: 'base64',
        data: Buffer.from(bytes).toString('base64'),
        bytes: bytes.length,
      };
    }
  }
}
