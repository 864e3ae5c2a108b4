/**
 * Similarity matrices as results carry them: the CKA core's output with which model each axis
 * shows, and the same matrix seen from the other side (CKA is symmetric: CKA(X, Y) = CKA(Y, X),
 * so the (B, A) matrix of a computed (A, B) pair is its transpose, intervals included).
 */
import type { LayerRef, MatrixSide, MeasureInfo, Reduction, SimilarityMatrix } from '../../common/contract.js';
import type { CkaResult } from '../similarity/index.js';

/** Lives with the result helpers both the engine and the views use. */
export { transposeMatrix } from '../../common/result-pairs.js';

/**
 * The CKA core's result as a result's matrix. `detail` keeps how it was computed (form, timings,
 * the plain percentile interval and the bootstrap bias); run results leave them out.
 */
export function similarityMatrix(
  result: CkaResult,
  rows: Omit<MatrixSide, 'layers'>,
  cols: Omit<MatrixSide, 'layers'>,
  detail = false,
): SimilarityMatrix {
  const measure: MeasureInfo = { name: result.measure.name, params: { ...result.measure.params } };
  if (result.batches) {
    measure.params.batches = result.batches.count;
    measure.params.droppedExamples = result.batches.droppedExamples;
  }
  const matrix: SimilarityMatrix = {
    measure,
    n: result.n,
    rows: { ...rows, layers: result.rows.map(({ tensor, name }) => ({ tensor, name })) },
    cols: { ...cols, layers: result.cols.map(({ tensor, name }) => ({ tensor, name })) },
    matrix: result.matrix,
    undefined: result.undefined.map(({ row, col, reason }) => ({ row, col, reason })),
  };
  if (result.ci) {
    const { lo, hi, level, samples, seed } = result.ci;
    matrix.ci = detail ? structuredClone(result.ci) : { lo, hi, level, samples, seed };
  }
  if (detail) {
    matrix.form = result.form;
    matrix.timingsMs = { ...result.timings };
  }
  return matrix;
}

/** A layer as results name it: its tensor, short name, and its reduction unless `flatten`. */
export function layerRef(layer: { tensor: string; name: string; reduction?: Reduction }): LayerRef {
  const ref: LayerRef = { tensor: layer.tensor, name: layer.name };
  if (layer.reduction && layer.reduction !== 'flatten') ref.reduction = layer.reduction;
  return ref;
}

/** The matrix's axes with each layer's reduction (the layers in the order the CKA core got them). */
export function withReductions(
  matrix: SimilarityMatrix,
  rows: readonly { tensor: string; name: string; reduction?: Reduction }[],
  cols: readonly { tensor: string; name: string; reduction?: Reduction }[],
): SimilarityMatrix {
  const refs = (side: MatrixSide, layers: typeof rows) => ({
    ...side,
    layers: side.layers.map((l, i) => (layers[i]?.tensor === l.tensor ? layerRef(layers[i]!) : l)),
  });
  return { ...matrix, rows: refs(matrix.rows, rows), cols: refs(matrix.cols, cols) };
}

/**
 * The comparison the other way round, where the core computed it (an asymmetric measure's
 * `mirror`: rows are the result's columns); null otherwise.
 */
export function mirrorMatrix(
  result: CkaResult,
  rows: Omit<MatrixSide, 'layers'>,
  cols: Omit<MatrixSide, 'layers'>,
): SimilarityMatrix | null {
  if (!result.mirror) return null;
  const { mirror: _mirror, ci: _ci, ...rest } = result;
  return similarityMatrix(
    { ...rest, rows: result.cols, cols: result.rows, matrix: result.mirror.matrix, undefined: result.mirror.undefined },
    cols,
    rows,
  );
}

/**
 * The block [rowStart, rowEnd) × [colStart, colEnd) of a result computed for many pairs at once
 * (rows and columns the concatenated layers of several models), as a result of its own.
 */
export function sliceResult(
  result: CkaResult,
  [rowStart, rowEnd]: readonly [number, number],
  [colStart, colEnd]: readonly [number, number],
): CkaResult {
  const grid = <T>(g: readonly (readonly T[])[]) => g.slice(rowStart, rowEnd).map((row) => row.slice(colStart, colEnd));
  const out: CkaResult = {
    ...result,
    rows: result.rows.slice(rowStart, rowEnd),
    cols: result.cols.slice(colStart, colEnd),
    matrix: grid(result.matrix),
    undefined: result.undefined
      .filter((u) => u.row >= rowStart && u.row < rowEnd && u.col >= colStart && u.col < colEnd)
      .map((u) => ({ row: u.row - rowStart, col: u.col - colStart, reason: u.reason })),
  };
  if (result.mirror) {
    // the mirror's rows are the columns
    const back = <T>(g: readonly (readonly T[])[]) =>
      g.slice(colStart, colEnd).map((row) => row.slice(rowStart, rowEnd));
    out.mirror = {
      matrix: back(result.mirror.matrix),
      undefined: result.mirror.undefined
        .filter((u) => u.row >= colStart && u.row < colEnd && u.col >= rowStart && u.col < rowEnd)
        .map((u) => ({ row: u.row - colStart, col: u.col - rowStart, reason: u.reason })),
    };
  }
  if (result.ci) {
    out.ci = {
      ...result.ci,
      lo: grid(result.ci.lo),
      hi: grid(result.ci.hi),
      percentile: { lo: grid(result.ci.percentile.lo), hi: grid(result.ci.percentile.hi) },
      bias: grid(result.ci.bias),
      ...(result.ci.skipped ? { skipped: grid(result.ci.skipped) } : {}),
    };
  }
  return out;
}
