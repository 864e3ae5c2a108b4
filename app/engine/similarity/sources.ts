/**
 * Layer sources → what the workers read: `.npy` paths stay paths (workers read them straight into
 * their buffers), arrays go to shared memory (in place if they already are), streams are collected
 * into shared memory (exact CKA needs every example of a layer at once; minibatch CKA can consume
 * streams without this — see minibatch-stream.ts).
 */
import { WorkbenchError } from '../../common/errors.js';
import type { LayerRef } from '../cka/types.js';
import { npyRowsAndFeatures, type ActivationInput } from '../compute/activations-in.js';
import { sharedFloat32, sharedFloat64, toShared } from '../compute/shared-memory.js';
import { readNpyHeader } from '../io/npy.js';
import type { ActivationArray, LayerSource } from './types.js';

export interface ResolvedSource {
  layer: LayerRef;
  input: ActivationInput;
  n: number;
  features: number;
  /** Element type as stored (npy files of other dtypes are read as float32). */
  dtype: 'float32' | 'float64';
}

function checkShape(layer: LayerRef, n: number, features: number, length: number): void {
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(features) || features < 1) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `layer '${layer.name}': n and features must be positive integers (got n = ${n}, features = ${features})`,
    );
  }
  if (length !== n * features) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `layer '${layer.name}': ${length} values do not make ${n} examples × ${features} features`,
    );
  }
}

async function collectStream(
  layer: LayerRef,
  features: number,
  batches: AsyncIterable<ActivationArray>,
): Promise<ActivationArray> {
  const parts: ActivationArray[] = [];
  let total = 0;
  let wide = false;
  for await (const batch of batches) {
    if (batch.length % features !== 0) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `layer '${layer.name}': a batch of ${batch.length} values is not a whole number of ${features}-feature rows`,
      );
    }
    wide ||= batch instanceof Float64Array;
    parts.push(batch.slice());
    total += batch.length;
  }
  const out = wide ? sharedFloat64(total, `layer '${layer.name}'`) : sharedFloat32(total, `layer '${layer.name}'`);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export async function resolveSource(source: LayerSource): Promise<ResolvedSource> {
  const layer = source.layer;
  switch (source.kind) {
    case 'array': {
      checkShape(layer, source.n, source.features, source.data.length);
      const data = toShared(source.data, `layer '${layer.name}'`);
      const dtype = data instanceof Float64Array ? 'float64' : 'float32';
      return {
        layer,
        input: { kind: 'shared', data, n: source.n, features: source.features },
        n: source.n,
        features: source.features,
        dtype,
      };
    }
    case 'npy': {
      const header = await readNpyHeader(source.path);
      const { n, features } = npyRowsAndFeatures(header, source.path);
      if (n < 1 || features < 1)
        throw new WorkbenchError('BAD_INPUT', `${source.path}: empty array (shape [${header.shape.join(', ')}])`);
      return {
        layer,
        input: { kind: 'npy', path: source.path },
        n,
        features,
        dtype: header.dtype === 'float64' ? 'float64' : 'float32',
      };
    }
    case 'stream': {
      const data = await collectStream(layer, source.features, source.batches);
      const n = data.length / source.features;
      checkShape(layer, n, source.features, data.length);
      const dtype = data instanceof Float64Array ? 'float64' : 'float32';
      return {
        layer,
        input: { kind: 'shared', data, n, features: source.features },
        n,
        features: source.features,
        dtype,
      };
    }
  }
}

/** Every source must hold the same examples: the same n (probe order is the caller's promise). */
export function checkSameExamples(
  groups: { side: string; sources: readonly { layer: LayerRef; n: number }[] }[],
): number {
  let reference: { side: string; layer: LayerRef; n: number } | null = null;
  for (const group of groups) {
    for (const source of group.sources) {
      if (!reference) reference = { side: group.side, layer: source.layer, n: source.n };
      else if (source.n !== reference.n) {
        throw new WorkbenchError(
          'BAD_INPUT',
          `mismatched number of examples: ${group.side} layer '${source.layer.name}' has n = ${source.n}, ${reference.side} layer '${reference.layer.name}' has n = ${reference.n}`,
        );
      }
    }
  }
  if (!reference) throw new WorkbenchError('BAD_INPUT', 'no layers to compare');
  return reference.n;
}

/** Distinct items (by identity: layers, sources, Grams) and each row's/column's index among them. */
export function distinctSources<T>(rows: readonly T[], cols: readonly T[]) {
  const distinct: T[] = [];
  const indexOf = (s: T) => {
    let i = distinct.indexOf(s);
    if (i < 0) i = distinct.push(s) - 1;
    return i;
  };
  return { distinct, rowIndex: rows.map(indexOf), colIndex: cols.map(indexOf) };
}
