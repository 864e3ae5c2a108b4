/**
 * The planner: from a spec and its prepared models, the least work that produces the result.
 *
 * - Work is keyed by content: a layer's activations by (model sha256, probe hash, tensor), its Gram
 *   by the same plus precision. Two entries of the spec with the same file share them, and the
 *   cache (store/) makes every key computed once across runs too.
 * - Exact measures (linear, RBF, debiased) all start from the layer's Gram, computed once and used
 *   for every pair and every measure; activations are only needed to make missing Grams.
 *   Minibatch measures read activations and need no Grams. The CCA-family baselines start from
 *   the layer's factors (a thin SVD, cached like Grams), made from its activations.
 * - Steps go model by model: model m is made ready (activations, Grams), then every pair whose
 *   last model is m is compared. Pairs finish as early as possible, so a run that stops keeps
 *   the pairs it finished.
 *
 * Pairs per kind: pair (A, B); self (A, A); seeds every (i, j) with i < j (the (j, i) matrix is
 * the transpose); family every (i, j) with i ≤ j (self-similarity on the diagonal of the grid).
 */
import type { ExperimentKind, ExperimentSpec } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import {
  bootstrapUnsupported,
  isBaseline,
  isGramMeasure,
  type BaselineMeasure,
  type Measure,
  type MinibatchMeasure,
} from '../similarity/index.js';
import type { PreparedModel } from './prepare-models.js';
import { specMeasures } from './spec.js';

export interface PlannedPair {
  row: number;
  col: number;
  /** Also store the transposed (col, row) matrix (seeds: every ordered pair). */
  mirrored: boolean;
}

export interface PlanStep {
  model: number;
  pairs: PlannedPair[];
  /** Estimated seconds of each task, for progress and ETA (refined while running). */
  estimate: { extract: number; grams: number; factors: number; pairs: number[] };
}

export interface ExperimentPlan {
  kind: ExperimentKind;
  models: PreparedModel[];
  n: number;
  exact: { text: string; measure: Measure }[];
  minibatch: { text: string; measure: MinibatchMeasure }[];
  baselines: { text: string; measure: BaselineMeasure }[];
  needsGrams: boolean;
  needsFactors: boolean;
  steps: PlanStep[];
  /** Sum of every estimate, seconds. */
  totalEstimate: number;
}

export function pairsOf(kind: ExperimentKind, models: number): PlannedPair[] {
  const pairs: PlannedPair[] = [];
  switch (kind) {
    case 'pair':
      return [{ row: 0, col: 1, mirrored: false }];
    case 'self':
      return [{ row: 0, col: 0, mirrored: false }];
    case 'seeds':
      for (let j = 1; j < models; j++) for (let i = 0; i < j; i++) pairs.push({ row: i, col: j, mirrored: true });
      return pairs;
    case 'family':
      for (let j = 0; j < models; j++) for (let i = 0; i <= j; i++) pairs.push({ row: i, col: j, mirrored: false });
      return pairs;
  }
}

/** Values per example of a layer; unknown dimensions count as 1 000 features. */
export function layerFeatures(shape: readonly (number | string | null)[] | null): number {
  if (!shape) return 1000;
  let product = 1;
  for (const d of shape.slice(1)) product *= typeof d === 'number' && d > 0 ? d : 32;
  return product;
}

// Rough costs on one core of a laptop, in seconds (only proportions matter: ETA is rescaled by
// the observed speed as soon as work has been done).
const EXTRACT_PER_VALUE = 1e-7;
const EXTRACT_PER_EXAMPLE = 1e-4;
const GRAM_PER_VALUE_N = 7e-11;
const HSIC_PER_PAIR_ELEMENT = 2e-10;
/** A layer's factors: a float64 Gram of min(n, p)² entries over max(n, p), and its eigen-decomposition. */
const FACTOR_PER_FLOP = 2e-10;
const EIGEN_PER_CUBE = 3e-9;

export function planExperiment(spec: ExperimentSpec, models: PreparedModel[]): ExperimentPlan {
  const measures = specMeasures(spec);
  const exact = measures.filter((m) => isGramMeasure(m.measure));
  const minibatch = measures.filter(
    (m): m is { text: string; measure: MinibatchMeasure } => m.measure.name === 'minibatch',
  );
  const baselines = measures.filter((m): m is { text: string; measure: BaselineMeasure } => isBaseline(m.measure));
  if (baselines.length > 0 && spec.options?.bootstrap) throw bootstrapUnsupported(baselines.map((m) => m.measure));
  // Rows: the examples, or the tokens under `tokens` (prepare-models.ts checked they agree).
  const n = models[0]!.layers[0]?.rows ?? models[0]!.probe.n;
  checkProbeSize(n, measures, models[0]!.probe.spec);
  const pairs = pairsOf(spec.kind, models.length);
  const bootstrap = spec.options?.bootstrap?.samples ?? 0;
  const featureSum = (m: PreparedModel) => m.layers.reduce((a, l) => a + layerFeatures(l.shape), 0);
  const ranks = (m: PreparedModel) => m.layers.map((l) => Math.min(n, layerFeatures(l.shape)));
  const factorCost = (m: PreparedModel) =>
    m.layers.reduce((a, l) => {
      const p = layerFeatures(l.shape);
      const r = Math.min(n, p);
      return a + n * p * r * FACTOR_PER_FLOP + r ** 3 * EIGEN_PER_CUBE;
    }, 0);
  // per pair of layers: U_aᵀU_b (n r_a r_b) and a few r³ small products and eigenvalues
  const baselinePairCost = (a: PreparedModel, b: PreparedModel) =>
    ranks(a).reduce(
      (sum, ra) =>
        sum +
        ranks(b).reduce(
          (s2, rb) => s2 + n * ra * rb * FACTOR_PER_FLOP + Math.min(ra, rb) ** 3 * EIGEN_PER_CUBE * baselines.length,
          0,
        ),
      0,
    );

  const steps: PlanStep[] = models.map((model, m) => {
    const stepPairs = pairs.filter((p) => p.col === m);
    const features = featureSum(model);
    return {
      model: m,
      pairs: stepPairs,
      estimate: {
        extract: n * features * EXTRACT_PER_VALUE + n * EXTRACT_PER_EXAMPLE,
        grams: exact.length > 0 ? n * n * features * GRAM_PER_VALUE_N : 0,
        factors: baselines.length > 0 ? factorCost(model) : 0,
        pairs: stepPairs.map((p) => {
          const layers = models[p.row]!.layers.length + (p.row === p.col ? 0 : model.layers.length);
          const hsic = exact.length * (n * n * 0.5) * layers * layers * HSIC_PER_PAIR_ELEMENT;
          const mb = minibatch.length * n * (featureSum(models[p.row]!) + features) * 2 * EXTRACT_PER_VALUE;
          const cca = baselines.length > 0 ? baselinePairCost(models[p.row]!, model) : 0;
          return (hsic + mb) * (1 + bootstrap / 50) + cca;
        }),
      },
    };
  });
  const totalEstimate = steps.reduce(
    (a, s) =>
      a + s.estimate.extract + s.estimate.grams + s.estimate.factors + s.estimate.pairs.reduce((x, y) => x + y, 0),
    0,
  );
  return {
    kind: spec.kind,
    models,
    n,
    exact,
    minibatch,
    baselines,
    needsGrams: exact.length > 0,
    needsFactors: baselines.length > 0,
    steps,
    totalEstimate,
  };
}

/**
 * The fewest examples each measure is defined for — CKA 2; debiased (HSIC₁ divides by n(n−3)) 4;
 * minibatch:B one batch of B — checked before any work, so a probe too small for a measure fails
 * the run in its first seconds instead of after the extraction.
 */
export function checkProbeSize(n: number, measures: readonly { text: string; measure: Measure }[], probe: string) {
  for (const { text, measure } of measures) {
    const needed = measure.name === 'debiased' ? 4 : measure.name === 'minibatch' ? Math.max(4, measure.batchSize) : 2;
    if (n < needed) {
      const why =
        measure.name === 'debiased'
          ? 'HSIC₁ divides by n(n−3)'
          : measure.name === 'minibatch'
            ? `one batch of ${measure.batchSize}`
            : 'a similarity needs two examples';
      throw new WorkbenchError(
        'BAD_PROBE',
        `probe ${probe} has ${n} example${n === 1 ? '' : 's'}; the measure '${text}' needs at least ${needed} (${why})`,
      );
    }
  }
}
