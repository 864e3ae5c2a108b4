/**
 * Memory planning for exact CKA, which holds O((L+M)·n²) numbers: estimate before allocating and
 * refuse with a clear OUT_OF_MEMORY error (suggesting minibatch CKA) instead of crashing.
 */
import { totalmem } from 'node:os';
import { WorkbenchError } from '../../common/errors.js';
import { packedLength } from '../cka/packed.js';

const GiB = 2 ** 30;

export function defaultMemoryBudget(): number {
  return Math.min(16 * GiB, Math.floor(totalmem() * 0.5));
}

export function formatBytes(bytes: number): string {
  return bytes >= GiB ? `${(bytes / GiB).toFixed(1)} GiB` : `${Math.ceil(bytes / 2 ** 20)} MiB`;
}

/** One packed float64 Gram or kernel (a float32 product's Gram takes half: gramStageBytes). */
export function packedBytes(n: number): number {
  return packedLength(n) * 8;
}

export interface GramPlan {
  layers: number;
  n: number;
  maxFeatures: number;
  workers: number;
  /** Of the products and of the Grams kept (grams.ts: a float32 product's Gram is kept in float32). */
  bytesPerValue: 4 | 8;
}

/** Grams kept + each worker's activations, centred copy and largest Gram block. */
export function gramStageBytes(plan: GramPlan): number {
  const perWorker =
    plan.n * plan.maxFeatures * (4 + plan.bytesPerValue) + Math.ceil(plan.n / 4) * plan.n * plan.bytesPerValue;
  return plan.layers * packedLength(plan.n) * plan.bytesPerValue + Math.min(plan.workers, plan.layers) * perWorker;
}

export interface ComparePlan {
  layers: number;
  n: number;
  workers: number;
  rbfThresholds: number;
  bootstrapSamples: number;
  bootstrapBytesPerValue: 4 | 8;
}

/** Derived kernels, scratch and bootstrap matrices on top of the Grams. */
export function compareStageBytes(plan: ComparePlan): number {
  const rbf =
    plan.rbfThresholds > 0
      ? plan.rbfThresholds * plan.layers * packedBytes(plan.n) + plan.workers * 1.5 * packedBytes(plan.n)
      : 0;
  const stack = plan.workers * 4 * 2 ** 20;
  let bootstrap = 0;
  if (plan.bootstrapSamples > 0) {
    const b = plan.bootstrapBytesPerValue;
    const nb = plan.n * plan.bootstrapSamples;
    bootstrap = plan.layers * nb * b + nb * (8 + b) + plan.workers * (3 * plan.n * plan.n * b + 4 * nb * b);
  }
  return rbf + stack + bootstrap;
}

export function checkMemoryBudget(requiredBytes: number, budgetBytes: number, what: string): void {
  if (requiredBytes > budgetBytes) {
    throw new WorkbenchError(
      'OUT_OF_MEMORY',
      `${what} needs about ${formatBytes(requiredBytes)}, over the memory budget of ${formatBytes(budgetBytes)}: ` +
        `use minibatch CKA (e.g. the measure minibatch:256), fewer layers or examples, or raise the budget`,
      { requiredBytes, budgetBytes },
    );
  }
}

export interface FactorPlan {
  n: number;
  /** Features of each layer. */
  features: readonly number[];
  workers: number;
}

/**
 * The CCA-family factors: each layer keeps U (n×r) and Xcᵀ U (p×r), r ≤ min(n, p); a worker holds
 * the activations, their float64 centred copy and scores, and a handful of min(n, p)² matrices.
 */
export function factorStageBytes(plan: FactorPlan): number {
  const kept = plan.features.reduce((a, p) => a + 2 * plan.n * Math.min(plan.n, p) * 8, 0);
  const largest = Math.max(...plan.features);
  const small = Math.min(plan.n, largest);
  const perWorker = plan.n * largest * (4 + 8 + 8) + 8 * small * small * 8;
  return kept + Math.min(plan.workers, plan.features.length) * perWorker;
}
