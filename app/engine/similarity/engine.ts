/**
 * The CKA engine (exported by index.ts). One engine owns a pool of worker threads, each with its
 * own onnxruntime sessions (../compute); its methods only plan work and add up small results.
 *
 *   const engine = new CkaEngine({ threads: 2 });
 *   // once per (model, probe): Grams, kept and reused for every pair and measure
 *   const grams = await engine.computeGrams(sourcesOfModelA);
 *   const [linear, rbf] = await engine.compareGrams(grams, null, [{ name: 'linear' }, { name: 'rbf', threshold: 0.5 }]);
 *   // or all in one go, choosing Grams / feature space / minibatch per measure
 *   const results = await engine.compare(rows, cols, measures, { bootstrap: { samples: 1000, seed: 1 } });
 *   // streaming: activations fed as they are extracted
 *   const stream = engine.minibatchStream(rowLayers, colLayers, { name: 'minibatch', batchSize: 100 });
 *   await engine.close();
 */
import { WorkbenchError } from '../../common/errors.js';
import { isBaseline, isGramMeasure } from '../cka/measures.js';
import type { BaselineMeasure, BootstrapOptions, CkaResult, Measure, MinibatchMeasure } from '../cka/types.js';
import { ComputePool, defaultThreads } from '../compute/pool.js';
import { compareGrams } from './exact.js';
import { compareFactors, computeLayerFactors, type CompareFactorsOptions, type LayerFactors } from './factors.js';
import { compareLinearFeatureSpace, featureFormIsCheaper } from './features.js';
import { loadGram, saveGram } from './gram-cache.js';
import { computeLayerGrams, type LayerGram } from './grams.js';
import {
  checkMemoryBudget,
  compareStageBytes,
  defaultMemoryBudget,
  factorStageBytes,
  gramStageBytes,
} from './memory.js';
import { compareMinibatch } from './minibatch.js';
import { MinibatchStream, type StreamLayer } from './minibatch-stream.js';
import { checkSameExamples, distinctSources, resolveSource, type ResolvedSource } from './sources.js';
import type { CkaEngineOptions, GramPrecision, LayerSource, RunOptions } from './types.js';

export interface CompareOptions extends RunOptions {
  bootstrap?: BootstrapOptions;
  /** Linear CKA: `auto` uses feature-space products when they are cheaper than Grams. */
  linearForm?: 'auto' | 'gram' | 'features';
}

/** Resolves both sides; the same source object on both sides is one layer (resolved, and its Gram computed, once). */
async function resolveSides(
  rowSources: readonly (LayerSource | ResolvedSource)[],
  colSources: readonly (LayerSource | ResolvedSource)[] | null,
): Promise<{ rows: ResolvedSource[]; cols: ResolvedSource[] }> {
  const resolved = new Map<LayerSource | ResolvedSource, Promise<ResolvedSource>>();
  const resolveOnce = (s: LayerSource | ResolvedSource) => {
    if ('input' in s) return Promise.resolve(s);
    let r = resolved.get(s);
    if (!r) resolved.set(s, (r = resolveSource(s)));
    return r;
  };
  const rows = await Promise.all(rowSources.map(resolveOnce));
  const cols = colSources ? await Promise.all(colSources.map(resolveOnce)) : rows;
  return { rows, cols };
}

/** Bootstrap intervals exist for CKA only: resampling would mean one SVD per layer per resample. */
export function bootstrapUnsupported(measures: readonly Pick<Measure, 'name'>[]): WorkbenchError {
  const names = [...new Set(measures.map((m) => m.name))].join(', ');
  return new WorkbenchError(
    'UNSUPPORTED',
    `bootstrap intervals are computed for CKA measures only, not for ${names}: leave out the bootstrap or compare ${names} in a run without it`,
  );
}

export class CkaEngine {
  readonly threads: number;
  readonly memoryBudgetBytes: number;
  readonly precision: GramPrecision;
  private readonly pool: ComputePool;

  constructor(options: CkaEngineOptions = {}) {
    this.threads = options.threads ?? defaultThreads();
    this.memoryBudgetBytes = options.memoryBudgetBytes ?? defaultMemoryBudget();
    this.precision = options.precision ?? 'auto';
    this.pool = new ComputePool(this.threads);
  }

  /** Reads headers, checks shapes, moves arrays to shared memory and collects streams. */
  resolve(sources: readonly LayerSource[]): Promise<ResolvedSource[]> {
    return Promise.all(sources.map(resolveSource));
  }

  /**
   * Each layer's centred Gram, computed once in the pool. Keep the result to compare the same
   * layers under many measures and against many other layers (or spill it with `saveGram`).
   */
  async computeGrams(sources: readonly (LayerSource | ResolvedSource)[], run: RunOptions = {}): Promise<LayerGram[]> {
    const resolved = await Promise.all(sources.map((s) => ('input' in s ? s : resolveSource(s))));
    if (resolved.length === 0) return [];
    const n = Math.max(...resolved.map((s) => s.n));
    checkMemoryBudget(
      gramStageBytes({
        layers: resolved.length,
        n,
        maxFeatures: Math.max(...resolved.map((s) => s.features)),
        workers: this.threads,
        bytesPerValue: this.precision === 'float64' || resolved.some((s) => s.dtype === 'float64') ? 8 : 4,
      }),
      this.memoryBudgetBytes,
      `exact CKA (Grams of ${resolved.length} layers, n = ${n})`,
    );
    return computeLayerGrams(this.pool, resolved, this.precision, run);
  }

  /** rows × cols matrices, one per measure (not minibatch), from stored Grams; cols null = rows against themselves. */
  compareGrams(
    rows: readonly LayerGram[],
    cols: readonly LayerGram[] | null,
    measures: readonly Measure[],
    options: RunOptions & { bootstrap?: BootstrapOptions } = {},
  ): Promise<CkaResult[]> {
    return compareGrams(this.pool, rows, cols ?? rows, measures, {
      ...options,
      memoryBudgetBytes: this.memoryBudgetBytes,
    });
  }

  /**
   * Each layer's factors for the CCA-family measures (a thin float64 SVD), computed once in the
   * pool; keep them to compare the layers with many others.
   */
  async computeFactors(
    sources: readonly (LayerSource | ResolvedSource)[],
    run: RunOptions = {},
  ): Promise<LayerFactors[]> {
    const resolved = await Promise.all(sources.map((s) => ('input' in s ? s : resolveSource(s))));
    if (resolved.length === 0) return [];
    checkMemoryBudget(
      factorStageBytes({
        n: Math.max(...resolved.map((s) => s.n)),
        features: resolved.map((s) => s.features),
        workers: this.threads,
      }),
      this.memoryBudgetBytes,
      `the CCA-family factors of ${resolved.length} layers`,
    );
    return computeLayerFactors(this.pool, resolved, run);
  }

  /** rows × cols for each CCA-family measure from stored factors; cols null = rows against themselves. */
  compareFactors(
    rows: readonly LayerFactors[],
    cols: readonly LayerFactors[] | null,
    measures: readonly BaselineMeasure[],
    options: CompareFactorsOptions = {},
  ): Promise<CkaResult[]> {
    return compareFactors(this.pool, rows, cols ?? rows, measures, options);
  }

  /** Starts the worker threads now, for a computation that will follow (say, after an extraction). */
  warm(): void {
    this.pool.warm();
  }

  /** Minibatch CKA reading batches straight from arrays or .npy files (optionally in a seeded shuffled order). */
  async compareMinibatch(
    rows: readonly (LayerSource | ResolvedSource)[],
    cols: readonly (LayerSource | ResolvedSource)[] | null,
    measure: MinibatchMeasure,
    options: RunOptions & { bootstrap?: BootstrapOptions } = {},
  ): Promise<CkaResult> {
    const resolve = (list: readonly (LayerSource | ResolvedSource)[]) =>
      Promise.all(list.map((s) => ('input' in s ? s : resolveSource(s))));
    const r = await resolve(rows);
    const c = cols ? await resolve(cols) : r;
    return compareMinibatch(this.pool, r, c, measure, { ...options, precision: this.precision });
  }

  /** A streaming minibatch accumulator: push activations as they arrive, then `finish()`. */
  minibatchStream(
    rows: readonly StreamLayer[],
    cols: readonly StreamLayer[] | null,
    measure: MinibatchMeasure,
    options: RunOptions & { bootstrap?: BootstrapOptions } = {},
  ): MinibatchStream {
    return new MinibatchStream(this.pool, rows, cols, measure, { ...options, precision: this.precision });
  }

  /**
   * Everything in one go: rows × cols for every measure. Exact measures share one set of Grams
   * (computed once per distinct layer); linear CKA alone uses feature-space products when they
   * are cheaper; minibatch measures read batches from the sources.
   */
  async compare(
    rowSources: readonly LayerSource[],
    colSources: readonly LayerSource[] | null,
    measures: readonly Measure[],
    options: CompareOptions = {},
  ): Promise<CkaResult[]> {
    if (measures.length === 0) throw new WorkbenchError('BAD_INPUT', 'no measure to compute');
    const started = performance.now();
    const { rows, cols } = await resolveSides(rowSources, colSources);
    const n = checkSameExamples([
      { side: 'row', sources: rows },
      { side: 'column', sources: cols },
    ]);
    const loadMs = performance.now() - started;
    const { distinct, rowIndex, colIndex } = distinctSources(rows, cols);
    const exact = measures.filter(isGramMeasure);
    const baselines = measures.filter(isBaseline);
    if (baselines.length > 0 && options.bootstrap) throw bootstrapUnsupported(baselines);
    const results = new Map<Measure, CkaResult>();

    if (exact.length > 0) {
      const onlyLinear = exact.every((m) => m.name === 'linear');
      const form = options.linearForm ?? 'auto';
      const useFeatures =
        onlyLinear &&
        !options.bootstrap &&
        (form === 'features' ||
          (form === 'auto' &&
            featureFormIsCheaper(
              n,
              distinct.map((s) => s.features),
            )));
      if (useFeatures) {
        const result = await compareLinearFeatureSpace(this.pool, rows, cols, this.precision, options);
        for (const m of exact) results.set(m, structuredClone(result));
      } else {
        const thresholds = new Set(
          exact.flatMap((m) =>
            m.name === 'rbf' ? [m.threshold] : m.name === 'debiased' && m.rbfThreshold ? [m.rbfThreshold] : [],
          ),
        );
        const bytesPerValue = this.precision === 'float64' || distinct.some((s) => s.dtype === 'float64') ? 8 : 4;
        checkMemoryBudget(
          gramStageBytes({
            layers: distinct.length,
            n,
            maxFeatures: Math.max(...distinct.map((s) => s.features)),
            workers: this.threads,
            bytesPerValue,
          }) +
            compareStageBytes({
              layers: distinct.length,
              n,
              workers: this.threads,
              rbfThresholds: thresholds.size,
              bootstrapSamples: options.bootstrap?.samples ?? 0,
              bootstrapBytesPerValue: bytesPerValue,
            }),
          this.memoryBudgetBytes,
          `exact CKA of ${distinct.length} layers on n = ${n} examples`,
        );
        const gramStart = performance.now();
        const grams = await computeLayerGrams(this.pool, distinct, this.precision, options);
        const gramMs = performance.now() - gramStart;
        const exactResults = await this.compareGrams(
          rowIndex.map((u) => grams[u]!),
          colIndex.map((u) => grams[u]!),
          exact,
          options,
        );
        exact.forEach((m, i) => {
          const r = exactResults[i]!;
          r.timings = { load: loadMs, grams: gramMs, ...r.timings };
          results.set(m, r);
        });
      }
    }
    if (baselines.length > 0) {
      const factorStart = performance.now();
      const factors = await this.computeFactors(distinct, options);
      const factorMs = performance.now() - factorStart;
      const baselineResults = await this.compareFactors(
        rowIndex.map((u) => factors[u]!),
        colIndex.map((u) => factors[u]!),
        baselines,
        options,
      );
      baselines.forEach((m, i) => {
        const r = baselineResults[i]!;
        r.timings = { load: loadMs, factors: factorMs, ...r.timings };
        results.set(m, r);
      });
    }
    for (const m of measures) {
      if (m.name !== 'minibatch') continue;
      results.set(m, await compareMinibatch(this.pool, rows, cols, m, { ...options, precision: this.precision }));
    }
    const out = measures.map((m) => results.get(m)!);
    for (const r of out) r.timings.total = performance.now() - started;
    return out;
  }

  saveGram(gram: LayerGram, npyPath: string): Promise<void> {
    return saveGram(gram, npyPath);
  }

  loadGram(npyPath: string): Promise<LayerGram> {
    return loadGram(npyPath);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }
}
