/**
 * Minibatch CKA's accumulator (Nguyen, Raghu & Kornblith 2021, eq. 3):
 *
 *   CKA_mb(K, L) = Σᵢ HSIC₁(Kᵢ, Lᵢ) / sqrt(Σᵢ HSIC₁(Kᵢ, Kᵢ) · Σᵢ HSIC₁(Lᵢ, Lᵢ))
 *
 * over batches i of b examples. Every batch has the same b (a last partial batch is dropped), so
 * HSIC₁'s 1/(b(b−3)) cancels and the stored per-batch traces tr(ŨₐŨ_b) are added as they are.
 * Batches are added up in batch order at the end, whatever order they finished in, so results do
 * not depend on thread timing; the per-batch traces also feed the batch bootstrap.
 */
import { batchResampledCka, intervalsFromSamples, withDefaults } from '../cka/bootstrap.js';
import { ckaFromTraces, constantReason, nonFiniteReason } from '../cka/cka-matrix.js';
import { describeMeasure } from '../cka/measures.js';
import type { BootstrapOptions, CkaResult, LayerRef, MinibatchMeasure, NonFiniteValue } from '../cka/types.js';
import type { BatchProducts } from '../compute/minibatch-batch.js';

export class MinibatchSums {
  private readonly perBatch: Float64Array[] = [];
  private readonly nonFinite: (NonFiniteValue | null)[];
  private readonly constantInEveryBatch: boolean[];

  constructor(private readonly layers: readonly LayerRef[]) {
    this.nonFinite = layers.map(() => null);
    this.constantInEveryBatch = layers.map(() => true);
  }

  /** Records batch t; `exampleOf(j)` maps the batch's j-th example to its index in the probe set. */
  add(t: number, batch: BatchProducts, exampleOf: (j: number) => number): void {
    this.perBatch[t] = batch.products;
    batch.nonFinite.forEach((where, u) => {
      if (where && !this.nonFinite[u]) this.nonFinite[u] = { ...where, example: exampleOf(where.example) };
    });
    batch.constant.forEach((c, u) => {
      if (!c) this.constantInEveryBatch[u] = false;
    });
  }

  result(
    measure: MinibatchMeasure,
    rowIndex: readonly number[],
    colIndex: readonly number[],
    batchCount: number,
    droppedExamples: number,
    bootstrap: BootstrapOptions | undefined,
    timings: CkaResult['timings'],
  ): CkaResult {
    const k = this.layers.length;
    const sums = new Float64Array(k * k);
    for (let t = 0; t < batchCount; t++) {
      const products = this.perBatch[t]!;
      for (let e = 0; e < k * k; e++) sums[e]! += products[e]!;
    }
    const problems = this.layers.map((layer, u) => {
      const where = this.nonFinite[u];
      if (where) return nonFiniteReason(layer, where);
      if (this.constantInEveryBatch[u]) return constantReason(layer);
      return null;
    });
    const { matrix, undefined: undefinedCells } = ckaFromTraces(sums, k, this.layers, rowIndex, colIndex, problems);
    const info = describeMeasure(measure);
    info.params = { ...info.params, batches: batchCount, droppedExamples };
    const result: CkaResult = {
      measure: info,
      n: batchCount * measure.batchSize,
      rows: rowIndex.map((u) => this.layers[u]!),
      cols: colIndex.map((u) => this.layers[u]!),
      matrix,
      undefined: undefinedCells,
      batches: {
        count: batchCount,
        size: measure.batchSize,
        droppedExamples,
        ...(measure.shuffleSeed !== undefined ? { shuffleSeed: measure.shuffleSeed } : {}),
      },
      form: 'minibatch',
      timings,
    };
    if (bootstrap) {
      const options = withDefaults(bootstrap);
      const samples = batchResampledCka(this.perBatch.slice(0, batchCount), k, { rowIndex, colIndex }, options);
      result.ci = intervalsFromSamples(samples, matrix, options, 'batches');
    }
    return result;
  }
}
