/**
 * Measures by name: parsing the CLI/spec form (`linear`, `rbf:0.5`, `debiased`, `minibatch:100`,
 * `cca`, `svcca:0.99`, …) and describing them.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { BaselineMeasure, GramMeasure, Measure, MeasureInfo } from './types.js';

const FORMS =
  'linear, rbf:T (e.g. rbf:0.5), debiased, debiased-rbf:T, minibatch:B (e.g. minibatch:100), ' +
  'cca, cca-r2, svcca:T and svcca-r2:T (e.g. svcca:0.99), pwcca, linreg, procrustes';

const BASELINES = new Set<Measure['name']>(['cca', 'cca-r2', 'svcca', 'svcca-r2', 'pwcca', 'linreg', 'procrustes']);

/** The paper's baselines and Procrustes, computed from each layer's SVD (similarity/factors.ts). */
export function isBaseline(measure: Measure): measure is BaselineMeasure {
  return BASELINES.has(measure.name);
}

/** CKA from Grams: linear, RBF, debiased. */
export function isGramMeasure(measure: Measure): measure is GramMeasure {
  return measure.name === 'linear' || measure.name === 'rbf' || measure.name === 'debiased';
}

/** m(X, Y) ≠ m(Y, X) in general: PWCCA weighs by X's canonical variables, regression predicts Y from X. */
export function isAsymmetric(measure: Pick<MeasureInfo, 'name'>): boolean {
  return measure.name === 'pwcca' || measure.name === 'linreg';
}

function fraction(text: string | undefined, spec: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0 || value >= 1) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `measure '${spec}': the fraction of variance to keep must be a number between 0 and 1 (e.g. ${spec.split(':')[0]}:0.99)`,
    );
  }
  return value;
}

function positiveNumber(text: string | undefined, what: string, spec: string): number {
  const value = Number(text);
  if (text === undefined || text.trim() === '' || !Number.isFinite(value) || value <= 0) {
    throw new WorkbenchError('BAD_INPUT', `measure '${spec}': ${what} must be a positive number`);
  }
  return value;
}

export function parseMeasure(spec: string): Measure {
  const [name, arg, extra] = spec.trim().split(':');
  switch (name) {
    case 'linear':
    case 'debiased':
    case 'cca':
    case 'cca-r2':
    case 'pwcca':
    case 'linreg':
    case 'procrustes':
      if (arg !== undefined) throw new WorkbenchError('BAD_INPUT', `measure '${spec}' takes no parameter`);
      return { name };
    case 'svcca':
    case 'svcca-r2':
      if (extra !== undefined) throw new WorkbenchError('BAD_INPUT', `measure '${spec}' takes one parameter`);
      return { name, keep: fraction(arg, spec) };
    case 'rbf':
      return { name: 'rbf', threshold: positiveNumber(arg, 'the RBF threshold', spec) };
    case 'debiased-rbf':
      return { name: 'debiased', rbfThreshold: positiveNumber(arg, 'the RBF threshold', spec) };
    case 'minibatch': {
      const batchSize = positiveNumber(arg, 'the batch size', spec);
      if (!Number.isInteger(batchSize) || batchSize < 4) {
        throw new WorkbenchError(
          'BAD_INPUT',
          `measure '${spec}': the batch size must be an integer ≥ 4 (HSIC₁ needs 4 examples per batch)`,
        );
      }
      if (extra !== undefined) {
        const seed = Number(extra);
        if (!Number.isInteger(seed) || seed < 0)
          throw new WorkbenchError('BAD_INPUT', `measure '${spec}': the shuffle seed must be a non-negative integer`);
        return { name: 'minibatch', batchSize, shuffleSeed: seed };
      }
      return { name: 'minibatch', batchSize };
    }
    default:
      throw new WorkbenchError('BAD_INPUT', `unknown measure '${spec}'; use one of: ${FORMS}`);
  }
}

/**
 * The measure as results name it: numeric parameters only (the contract's MeasureInfo). Minibatch
 * results add `batches` and `droppedExamples` to these.
 */
export function describeMeasure(measure: Measure): MeasureInfo {
  switch (measure.name) {
    case 'linear':
    case 'cca':
    case 'cca-r2':
    case 'pwcca':
    case 'linreg':
    case 'procrustes':
      return { name: measure.name, params: {} };
    case 'svcca':
    case 'svcca-r2':
      return { name: measure.name, params: { keep: measure.keep } };
    case 'rbf':
      return { name: 'rbf', params: { threshold: measure.threshold } };
    case 'debiased':
      return {
        name: 'debiased',
        params: measure.rbfThreshold === undefined ? {} : { rbfThreshold: measure.rbfThreshold },
      };
    case 'minibatch':
      return {
        name: 'minibatch',
        params: {
          batchSize: measure.batchSize,
          ...(measure.shuffleSeed !== undefined ? { shuffleSeed: measure.shuffleSeed } : {}),
        },
      };
  }
}

/** The kernel and centring a Gram-based measure needs. */
export interface KernelRecipe {
  kernel: { kind: 'linear' } | { kind: 'rbf'; threshold: number };
  centring: 'biased' | 'unbiased';
}

export function kernelRecipe(measure: GramMeasure): KernelRecipe {
  switch (measure.name) {
    case 'linear':
      return { kernel: { kind: 'linear' }, centring: 'biased' };
    case 'rbf':
      return { kernel: { kind: 'rbf', threshold: measure.threshold }, centring: 'biased' };
    case 'debiased':
      return {
        kernel:
          measure.rbfThreshold === undefined ? { kind: 'linear' } : { kind: 'rbf', threshold: measure.rbfThreshold },
        centring: 'unbiased',
      };
  }
}

export function measureKey(measure: Measure): string {
  const info = describeMeasure(measure);
  return `${info.name}(${Object.entries(info.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')})`;
}
