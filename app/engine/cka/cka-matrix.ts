/**
 * From HSIC values to CKA (Kornblith et al. 2019, eq. 2):
 *
 *   CKA(K, L) = HSIC(K, L) / sqrt(HSIC(K, K) · HSIC(L, L))
 *
 * Every estimator's constant factor ((n−1)⁻², or 1/(n(n−3)) for HSIC₁) cancels, so the inputs
 * are the raw traces tr(K̃L̃). A cell is null, with its reason, when a layer cannot be used (constant,
 * non-finite, undefined kernel) or a self term is ≤ 0: a square root of a negative or zero HSIC is
 * never taken. Debiased CKA itself may be negative; that value is reported as it is.
 */
import type { LayerRef, NonFiniteValue, UndefinedCell } from './types.js';

export function nonFiniteReason(layer: LayerRef, where: NonFiniteValue): string {
  if (where.feature < 0) {
    return `layer '${layer.name}': its Gram overflowed float32 (activations too large; use precision float64)`;
  }
  return `layer '${layer.name}' has non-finite activations (${where.value} at example ${where.example}, feature ${where.feature})`;
}

export function constantReason(layer: LayerRef): string {
  return `layer '${layer.name}' is constant on these examples (zero variance), so its CKA is undefined`;
}

export interface CkaMatrix {
  matrix: (number | null)[][];
  undefined: UndefinedCell[];
}

/**
 * @param products k×k row-major traces tr(K̃_a K̃_b) over the distinct layers
 * @param rowIndex for each matrix row, its layer's index among the k
 * @param problems per distinct layer: why it cannot be used, or null
 */
export function ckaFromTraces(
  products: Float64Array,
  k: number,
  layers: readonly LayerRef[],
  rowIndex: readonly number[],
  colIndex: readonly number[],
  problems: readonly (string | null)[],
): CkaMatrix {
  const matrix: (number | null)[][] = [];
  const undefinedCells: UndefinedCell[] = [];
  const selfProblem = (u: number): string | null => {
    if (problems[u]) return problems[u]!;
    const self = products[u * k + u]!;
    if (!(self > 0)) {
      return `layer '${layers[u]!.name}': its HSIC with itself is ${self === 0 ? '0' : self > 0 ? 'positive' : 'not positive'} (${self.toExponential(3)}) under this kernel and estimator, so CKA is undefined`;
    }
    return null;
  };
  rowIndex.forEach((a, row) => {
    const line: (number | null)[] = [];
    colIndex.forEach((b, col) => {
      const reason = selfProblem(a) ?? selfProblem(b);
      if (reason) {
        line.push(null);
        undefinedCells.push({ row, col, reason });
        return;
      }
      const value = products[a * k + b]! / Math.sqrt(products[a * k + a]! * products[b * k + b]!);
      if (!Number.isFinite(value)) {
        line.push(null);
        undefinedCells.push({
          row,
          col,
          reason: `CKA of '${layers[a]!.name}' and '${layers[b]!.name}' is not a finite number`,
        });
        return;
      }
      line.push(value);
    });
    matrix.push(line);
  });
  return { matrix, undefined: undefinedCells };
}
