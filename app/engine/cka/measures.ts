/** Measures by name: parsing the CLI/spec form (`linear`, `rbf:0.5`, `debiased`, `minibatch:100`) and describing them. */
import { WorkbenchError } from '../../common/errors.js';
import type { Measure, MeasureInfo } from './types.js';

const FORMS = 'linear, rbf:T (e.g. rbf:0.5), debiased, debiased-rbf:T, minibatch:B (e.g. minibatch:100)';

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
      if (arg !== undefined) throw new WorkbenchError('BAD_INPUT', `measure '${spec}' takes no parameter`);
      return { name };
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
      return { name: 'linear', params: {} };
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

export function kernelRecipe(measure: Measure): KernelRecipe {
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
    case 'minibatch':
      return { kernel: { kind: 'linear' }, centring: 'unbiased' };
  }
}

export function measureKey(measure: Measure): string {
  const info = describeMeasure(measure);
  return `${info.name}(${Object.entries(info.params)
    .map(([k, v]) => `${k}=${v}`)
    .join(',')})`;
}
