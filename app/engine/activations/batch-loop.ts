/**
 * The extraction loop: probe batches → the runner session → one row block per layer → sinks.
 *
 * The layers come calibrated (calibration.ts): each with its runner plan — regrouping, masking,
 * the reduction — applied in the runner process, so only rows come back. The first two batches
 * have 2 and 3 examples, as calibration's, and run one after the other; then batches of the batch
 * size (by default chosen from memory) are pipelined: the next one already runs in the runner process while the host
 * hands the previous one to the sinks, with at most `inFlight` outstanding, so memory stays a few
 * batches whatever the probe size. A model with a fixed batch size B gets batches of B, the last
 * one padded with zero rows, which are dropped.
 *
 * Row offsets are per layer: one row per example, or one per valid token for `tokens`.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { FeedSource } from '../probe/feeds.js';
import type { RunnerSession } from '../runner/model-runner.js';
import type { WireTensor } from '../runner/protocol.js';
import { asFloat32 } from '../runner/reduce.js';
import { defaultBatchSize } from './batch-size.js';
import { nonFiniteError, scanNonFinite } from './non-finite.js';
import type {
  ActivationSink,
  ExtractedLayer,
  ExtractionInfo,
  ExtractionProgress,
  ExtractionResult,
  NonFiniteCount,
} from './types.js';
import type { OmittedLayer } from '../../common/contract.js';

export interface BatchLoopOptions {
  sinks?: ActivationSink[];
  /** Examples per run after the first two batches (default: chosen from memory). */
  batchSize?: number;
  signal?: AbortSignal;
  onProgress?: (progress: ExtractionProgress) => void;
  /** `error` (default): NaN/±Inf in a layer fail the extraction naming it; `report`: counted in the result. */
  nonFinite?: 'error' | 'report';
  /** Batches outstanding in the runner at once (default 2). */
  inFlight?: number;
}

export interface BatchLoopInput {
  session: RunnerSession;
  feeds: FeedSource;
  /** The model's fixed batch size, or null. */
  fixedBatch: number | null;
  /** The layers to extract, as calibration planned them. */
  layers: readonly ExtractedLayer[];
  model: { path: string; sha256: string };
  notes: string[];
  omitted: OmittedLayer[];
}

interface Range {
  index: number;
  start: number;
  count: number;
}

interface RanBatch {
  range: Range;
  outputs: WireTensor[];
}

const FIRST_SIZES = [2, 3];

export async function runBatches(job: BatchLoopInput, options: BatchLoopOptions = {}): Promise<ExtractionResult> {
  const { session, feeds, model, layers, fixedBatch } = job;
  const sinks = options.sinks ?? [];
  const signal = options.signal;
  const inFlight = Math.max(1, options.inFlight ?? 2);
  const n = feeds.n;
  const notes = [...job.notes];
  if (fixedBatch !== null && options.batchSize !== undefined && options.batchSize !== fixedBatch) {
    notes.push(`the model takes batches of exactly ${fixedBatch}; batch size ${options.batchSize} was not used`);
  }
  const started = performance.now();
  const nonFinite: Record<string, NonFiniteCount> = {};
  const fetch = layers.map((l) => l.tensor);
  const plans = layers.map((l) => l.plan);
  const reduced = plans.some((p) => p !== null);
  const rowOffsets = layers.map(() => 0);
  let batchesTotal = 0;
  let batchesDone = 0;
  let examplesDone = 0;

  const runRange = async (range: Range): Promise<RanBatch> => {
    const rows = fixedBatch ?? range.count;
    const batch = await feeds.read(range.start, range.count, { rows });
    const outputs = await session.run(batch.feeds, fetch, {
      signal,
      doing: `running batch ${range.index + 1}${batchesTotal ? `/${batchesTotal}` : ''}`,
      ...(reduced ? { reduce: { layers: plans, examples: range.count, mask: batch.mask, length: batch.length } } : {}),
    });
    return { range, outputs };
  };

  /** Rows a layer gives for examples [start, start + count). */
  const rowsFor = (layer: ExtractedLayer, range: Range): number => {
    if (layer.rowsPerExample !== 'valid') return range.count * layer.rowsPerExample;
    let total = 0;
    for (let i = range.start; i < range.start + range.count; i++) total += feeds.validTokens![i]!;
    return total;
  };

  /** Hands one batch's rows to the sinks. */
  const deliver = async ({ range, outputs }: RanBatch): Promise<void> => {
    for (const [i, tensor] of outputs.entries()) {
      const layer = layers[i]!;
      const expectedRows = rowsFor(layer, range);
      let data: Float32Array;
      if (layer.plan === null) {
        const batchRows = fixedBatch ?? range.count;
        if (tensor.dims[0] !== batchRows || tensor.dims.slice(1).join('x') !== layer.shape.join('x')) {
          throw new WorkbenchError(
            'RUNTIME',
            `${model.path}: layer '${layer.name}' came out as [${tensor.dims.join(', ')}] for a batch of ${batchRows}, ` +
              `after [${batchRows}, ${layer.shape.join(', ')}] was expected; its rows cannot form one array`,
          );
        }
        data = rowsOf(tensor, range.count * layer.features, model.path, layer);
      } else {
        if (tensor.dims[0] !== expectedRows || tensor.dims[1] !== layer.features) {
          throw new WorkbenchError(
            'RUNTIME',
            `${model.path}: layer '${layer.name}' gave [${tensor.dims.join(', ')}] rows for examples ${range.start}…${range.start + range.count - 1}, ` +
              `after [${expectedRows}, ${layer.features}] was expected`,
          );
        }
        data = tensor.data as Float32Array;
      }
      const count = scanNonFinite(data, layer.features, rowOffsets[i]!, nonFinite[layer.tensor]);
      if (count) {
        nonFinite[layer.tensor] = count;
        if ((options.nonFinite ?? 'error') === 'error') throw nonFiniteError(layer, count, model.path);
      }
      const batch = {
        layer: i,
        tensor: layer.tensor,
        rowOffset: rowOffsets[i]!,
        rows: expectedRows,
        features: layer.features,
        data,
      };
      rowOffsets[i]! += expectedRows;
      for (const sink of sinks) await sink.write(batch);
    }
    batchesDone++;
    examplesDone += range.count;
    const seconds = (performance.now() - started) / 1000;
    options.onProgress?.({
      batchesDone,
      batchesTotal,
      examplesDone,
      n,
      examplesPerSecond: examplesDone / Math.max(seconds, 1e-9),
    });
  };

  try {
    throwIfAborted(signal);
    const perExample = feeds.inputs.reduce(
      (sum, input) => sum + input.exampleShape.reduce<number>((a, d) => a * (d ?? feeds.sequence?.capLength ?? 1), 1),
      0,
    );
    const valuesPerExample = perExample + layers.reduce((sum, l) => sum + Math.max(l.rawValues, l.features), 0);
    const batchSize = fixedBatch ?? options.batchSize ?? defaultBatchSize(valuesPerExample, inFlight, n);
    const ranges: Range[] = [];
    let start = 0;
    const firstBatches = fixedBatch ? 0 : FIRST_SIZES.length;
    for (const size of fixedBatch ? [] : FIRST_SIZES) {
      if (start >= n) break;
      ranges.push({ index: ranges.length, start, count: Math.min(size, n - start) });
      start += ranges[ranges.length - 1]!.count;
    }
    for (; start < n; start += batchSize)
      ranges.push({ index: ranges.length, start, count: Math.min(batchSize, n - start) });
    batchesTotal = ranges.length;

    const info: ExtractionInfo = {
      model,
      probe: { spec: feeds.spec, hash: feeds.hash, n },
      layers: [...layers],
      omitted: job.omitted,
    };
    for (const sink of sinks) await sink.begin?.(info);
    const pending: Promise<RanBatch>[] = [];
    let next = 0;
    // The first two batches (calibration's sizes) run one after the other, then the pipeline.
    for (; next < Math.min(firstBatches, ranges.length); next++) {
      throwIfAborted(signal);
      await deliver(await runRange(ranges[next]!));
    }
    const launch = () => {
      const promise = runRange(ranges[next++]!);
      promise.catch(() => undefined); // awaited in order below; this only marks it handled
      pending.push(promise);
    };
    while (next < ranges.length && pending.length < inFlight) launch();
    while (pending.length > 0) {
      throwIfAborted(signal);
      const ran = await pending.shift()!;
      if (next < ranges.length) launch();
      await deliver(ran);
    }
    for (const sink of sinks) await sink.finish?.();
    const seconds = (performance.now() - started) / 1000;
    return {
      model,
      probe: { spec: feeds.spec, hash: feeds.hash, n },
      layers: [...layers],
      nonFinite,
      batchSize,
      batches: batchesDone,
      seconds,
      examplesPerSecond: n / Math.max(seconds, 1e-9),
      notes: [...notes, ...feeds.notes],
      omitted: job.omitted,
    };
  } catch (err) {
    const reason =
      signal?.aborted && !(err instanceof WorkbenchError) ? new WorkbenchError('CANCELLED', 'cancelled') : err;
    await Promise.all(sinks.map((s) => Promise.resolve(s.abort?.(reason)).catch(() => undefined)));
    throw reason;
  }
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
}

/** The first `length` values of a float tensor as float32 (converting float16/float64). */
function rowsOf(tensor: WireTensor, length: number, modelPath: string, layer: ExtractedLayer): Float32Array {
  if (!['float32', 'float64', 'float16'].includes(tensor.type)) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${modelPath}: layer '${layer.name}' is ${tensor.type}; only float layers can be extracted`,
    );
  }
  const values = tensor.type === 'float32' ? (tensor.data as Float32Array) : asFloat32(tensor);
  return values.subarray(0, length);
}
