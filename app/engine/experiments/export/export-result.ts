/**
 * A run's result as a file: `json` is the whole ExperimentResult (or one pair's matrix); `csv`,
 * `npy` (float64 [rows, cols], NaN where undefined) and `svg` (heatmap, drawn with the request's
 * figure options) hold one matrix — by index, or by ordered pair of models — or for seeds runs
 * the mean or standard deviation over pairs of one measure.
 */
import type { ExperimentResult, ExportRequest, ExportedFile, SimilarityMatrix } from '../../../common/contract.js';
import { WorkbenchError } from '../../../common/errors.js';
import { matrixCsv } from '../../../common/figures/csv.js';
import { svgOptions } from '../../../common/figures/figure-options.js';
import { heatmapSvg } from '../../../common/figures/heatmap-svg.js';
import { seedsFigure, similarityFigure, type MatrixFigure } from '../../../common/figures/matrix-figure.js';
import { fileStem, modelLetter } from '../../../common/figures/names.js';
import { measureTitle } from '../../../common/measures.js';
import { pairMatrix, resultMeasures } from '../../../common/result-pairs.js';
import { encodeNpy } from '../../io/npy.js';

/** The figure a csv/npy/svg export holds: the one the page draws for the same matrix or summary. */
export function exportFigure(
  result: ExperimentResult,
  request: Pick<ExportRequest, 'matrix' | 'seeds' | 'pair'>,
): MatrixFigure {
  const runName = result.spec.name;
  if (request.pair) return similarityFigure(exportedPair(result, request.pair), runName);
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
    return seedsFigure({
      summary,
      models: result.models,
      n: result.probe.n,
      statistic: request.seeds.statistic,
      runName,
    });
  }
  const index = request.matrix ?? 0;
  const matrix = result.matrices[index];
  if (!matrix) {
    throw new WorkbenchError(
      'NOT_FOUND',
      `the result has ${result.matrices.length} matrices; there is no matrix ${index}`,
    );
  }
  return similarityFigure(matrix, runName);
}

/** The matrix of one ordered pair of the result's models, for one of its measures. */
export function exportedPair(result: ExperimentResult, pair: NonNullable<ExportRequest['pair']>): SimilarityMatrix {
  const count = result.models.length;
  for (const index of [pair.rows, pair.cols]) {
    if (index >= count) {
      throw new WorkbenchError(
        'NOT_FOUND',
        `the run has ${count} model${count === 1 ? '' : 's'} (0–${count - 1}); there is no model ${index}`,
      );
    }
  }
  const measures = resultMeasures(result);
  const measure = measures[pair.measure ?? 0];
  if (!measure) {
    throw new WorkbenchError(
      'NOT_FOUND',
      `the result has ${measures.length} measure${measures.length === 1 ? '' : 's'}; there is no measure ${pair.measure ?? 0}`,
    );
  }
  const matrix = pairMatrix(result, pair.rows, pair.cols, measure);
  if (!matrix) {
    const name = (i: number) => `${modelLetter(i)} (${result.models[i]!.label})`;
    throw new WorkbenchError(
      'NOT_FOUND',
      `the run has no ${measureTitle(measure)} matrix of ${name(pair.rows)} against ${name(pair.cols)}` +
        (result.partial ? ' (it stopped before that pair)' : ''),
    );
  }
  return matrix;
}

export function figureToNpy(figure: MatrixFigure): Uint8Array {
  const rows = figure.values.length;
  const cols = figure.cols.labels.length;
  const data = new Float64Array(rows * cols);
  figure.values.forEach((row, r) => row.forEach((v, c) => (data[r * cols + c] = v === null ? NaN : v)));
  return encodeNpy(data, [rows, cols]);
}

export function exportResult(result: ExperimentResult, request: ExportRequest): ExportedFile {
  if (request.format === 'json' && request.pair) {
    const data = JSON.stringify(exportedPair(result, request.pair), null, 1) + '\n';
    return {
      fileName: `${exportFigure(result, request).stem}.json`,
      mediaType: 'application/json',
      encoding: 'utf8',
      data,
      bytes: Buffer.byteLength(data),
    };
  }
  if (request.format === 'json') {
    const data = JSON.stringify(result, null, 1) + '\n';
    return {
      fileName: `${fileStem(result.spec.name, 'result')}.json`,
      mediaType: 'application/json',
      encoding: 'utf8',
      data,
      bytes: Buffer.byteLength(data),
    };
  }
  const figure = exportFigure(result, request);
  switch (request.format) {
    case 'csv': {
      const data = matrixCsv(figure);
      return {
        fileName: `${figure.stem}.csv`,
        mediaType: 'text/csv',
        encoding: 'utf8',
        data,
        bytes: Buffer.byteLength(data),
      };
    }
    case 'svg': {
      const options = svgOptions(request.figure ?? {}, figure.values);
      // Best matches are the highest similarities: a standard deviation has none.
      if (request.seeds?.statistic === 'std') options.bestMatch = false;
      const data = heatmapSvg(figure, options);
      return {
        fileName: `${figure.stem}.svg`,
        mediaType: 'image/svg+xml',
        encoding: 'utf8',
        data,
        bytes: Buffer.byteLength(data),
      };
    }
    case 'npy': {
      const bytes = figureToNpy(figure);
      return {
        fileName: `${figure.stem}.npy`,
        mediaType: 'application/octet-stream',
        encoding: 'base64',
        data: Buffer.from(bytes).toString('base64'),
        bytes: bytes.length,
      };
    }
  }
}
