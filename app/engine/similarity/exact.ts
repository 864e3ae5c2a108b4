/**
 * Exact CKA from stored Grams: rows × cols matrices for several measures in one call. Each
 * distinct layer's kernel is derived once, and all pairs of all measures using that kernel come
 * from one stacked product over the distinct layers (kernels.ts), centred per measure in O(n) per
 * pair (cka/centred-traces.ts), then divided into CKA (cka/cka-matrix.ts).
 */
import { WorkbenchError } from '../../common/errors.js';
import { intervalsFromSamples, resampledCka, withDefaults } from '../cka/bootstrap.js';
import { MIN_EXAMPLES } from '../cka/centring.js';
import { centredTraces } from '../cka/centred-traces.js';
import { ckaFromTraces } from '../cka/cka-matrix.js';
import { describeMeasure, isGramMeasure, kernelRecipe } from '../cka/measures.js';
import type { BootstrapOptions, CkaResult, GramMeasure, Measure } from '../cka/types.js';
import type { ComputeDType } from '../compute/onnx-graph.js';
import type { ComputePool } from '../compute/pool.js';
import { kernelMoments } from './bootstrap.js';
import type { LayerGram } from './grams.js';
import {
  centredViews,
  linearKernels,
  pairwisePackedProducts,
  rbfKernels,
  recipeKernelKey,
  summariesOf,
  type KernelSet,
} from './kernels.js';
import { checkMemoryBudget, compareStageBytes } from './memory.js';
import { distinctSources } from './sources.js';
import type { RunOptions } from './types.js';

export interface CompareGramsOptions extends RunOptions {
  bootstrap?: BootstrapOptions;
  memoryBudgetBytes: number;
}

export function checkGramsCompatible(rows: readonly LayerGram[], cols: readonly LayerGram[]): number {
  const all = [...rows.map((g) => ({ side: 'row', g })), ...cols.map((g) => ({ side: 'column', g }))];
  if (rows.length === 0 || cols.length === 0) throw new WorkbenchError('BAD_INPUT', 'no layers to compare');
  const first = all[0]!;
  for (const { side, g } of all) {
    if (g.n !== first.g.n) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `mismatched number of examples: ${side} layer '${g.layer.name}' has n = ${g.n}, ${first.side} layer '${first.g.layer.name}' has n = ${first.g.n}`,
      );
    }
  }
  if (first.g.n < 2) throw new WorkbenchError('BAD_INPUT', `CKA needs at least 2 examples, got n = ${first.g.n}`);
  return first.g.n;
}

export async function compareGrams(
  pool: ComputePool,
  rows: readonly LayerGram[],
  cols: readonly LayerGram[],
  measures: readonly Measure[],
  options: CompareGramsOptions,
): Promise<CkaResult[]> {
  const started = performance.now();
  const n = checkGramsCompatible(rows, cols);
  const { distinct, rowIndex, colIndex } = distinctSources(rows, cols);
  const refs = distinct.map((g) => g.layer);
  const gramMeasures: GramMeasure[] = [];
  for (const m of measures) {
    if (!isGramMeasure(m))
      throw new WorkbenchError('BAD_INPUT', `${m.name} is computed from activations, not from stored Grams`);
    gramMeasures.push(m);
    const mode = kernelRecipe(m).centring;
    if (n < MIN_EXAMPLES[mode]) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${m.name} CKA needs at least ${MIN_EXAMPLES[mode]} examples (HSIC₁ divides by n(n−3)), got n = ${n}`,
      );
    }
  }
  const recipes = gramMeasures.map(kernelRecipe);
  const thresholds = [...new Set(recipes.flatMap((r) => (r.kernel.kind === 'rbf' ? [r.kernel.threshold] : [])))];
  const bootstrap = options.bootstrap ? withDefaults(options.bootstrap) : null;
  const bootstrapDtype: ComputeDType = distinct.some((g) => g.precision === 'float64') ? 'float64' : 'float32';
  checkMemoryBudget(
    compareStageBytes({
      layers: distinct.length,
      n,
      workers: pool.threads,
      rbfThresholds: thresholds.length,
      bootstrapSamples: bootstrap?.samples ?? 0,
      bootstrapBytesPerValue: bootstrapDtype === 'float64' ? 8 : 4,
    }),
    options.memoryBudgetBytes,
    `exact CKA of ${distinct.length} layers on n = ${n} examples`,
  );

  const kernelStart = performance.now();
  const kernelSets = new Map<string, KernelSet>([['linear', linearKernels(distinct)]]);
  if (thresholds.length > 0) {
    for (const [t, set] of await rbfKernels(pool, distinct, thresholds, options)) kernelSets.set(`rbf:${t}`, set);
  }
  const kernelMs = performance.now() - kernelStart;

  // One stacked product per kernel that some measure uses.
  const productsByKernel = new Map<string, Promise<Float64Array>>();
  const productsOf = (key: string) => {
    let products = productsByKernel.get(key);
    if (!products)
      productsByKernel.set(key, (products = pairwisePackedProducts(pool, kernelSets.get(key)!.bases, n, options)));
    return products;
  };
  const results: CkaResult[] = [];
  for (let m = 0; m < measures.length; m++) {
    const measureStart = performance.now();
    const recipe = recipes[m]!;
    const key = recipeKernelKey(recipe);
    const set = kernelSets.get(key)!;
    const [summaries, products] = await Promise.all([summariesOf(pool, set, n, options.signal), productsOf(key)]);
    const traces = centredTraces(products, summaries, recipe.centring);
    const { matrix, undefined: undefinedCells } = ckaFromTraces(
      traces,
      distinct.length,
      refs,
      rowIndex,
      colIndex,
      set.problems,
    );
    results.push({
      measure: describeMeasure(measures[m]!),
      n,
      rows: rows.map((g) => g.layer),
      cols: cols.map((g) => g.layer),
      matrix,
      undefined: undefinedCells,
      form: 'gram',
      timings: { kernels: kernelMs, hsic: performance.now() - measureStart },
    });
  }

  if (bootstrap) {
    // One pass of moments per distinct kernel serves both centrings.
    for (const key of new Set(recipes.map(recipeKernelKey))) {
      const bootstrapStart = performance.now();
      const set = kernelSets.get(key)!;
      const views = await centredViews(pool, set, n, 'biased', options.signal);
      const moments = await kernelMoments(pool, views, { rowIndex, colIndex }, n, bootstrap, bootstrapDtype, options);
      recipes.forEach((recipe, m) => {
        if (recipeKernelKey(recipe) !== key) return;
        const samples = resampledCka(recipe.centring, n, moments, { rowIndex, colIndex }, bootstrap.samples);
        results[m]!.ci = intervalsFromSamples(samples, results[m]!.matrix, bootstrap, 'examples');
        results[m]!.timings.bootstrap = performance.now() - bootstrapStart;
      });
    }
  }
  for (const r of results) r.timings.total = performance.now() - started;
  return results;
}
