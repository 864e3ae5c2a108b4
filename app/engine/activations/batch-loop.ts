/**
 * The extraction loop: probe batches → the runner session → one row block per layer → sinks.
 *
 * Calibration: the first two batches have 2 and 3 examples (fewer if the probe is smaller). A
 * tensor is extracted only if its first axis is 2 and then 3 — the examples — and the rest of its
 * shape stays put; a stacked [3, batch, …] or merged [batch·heads, …] tensor cannot pass both by
 * coincidence. Layers that fail are left out with a note, or are an error when named explicitly.
 * The per-example sizes then give the default batch size. A job given the layers as calibration
 * already saw them (`calibrated`, from PreparedExtraction.open) keeps the same first batches but does
 * not check them again: the batches and the rows are the same as with the check. Afterwards batches are pipelined: the
 * next one already runs in the runner process while the host hands the previous one to the sinks,
 * with at most `inFlight` outstanding, so memory stays a few batches whatever the probe size.
 * A model with a fixed batch size B gets batches of B (no calibration needed: its shapes are
 * fixed), the last one zero-padded; padding rows are dropped.
 */
import { WorkbenchError } from '../../common/errors.js';
import { halfToFloat } from '../io/half-float.js';
import type { ModelInput } from '../probe/model-input.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount, type ProbeSource } from '../probe/source.js';
import type { RunnerSession } from '../runner/model-runner.js';
import type { WireTensor } from '../runner/protocol.js';
import { defaultBatchSize } from './batch-size.js';
import { LeftOutLayers } from './left-out.js';
import { nonFiniteError, scanNonFinite } from './non-finite.js';
import type {
  ActivationSink,
  ExtractedLayer,
  ExtractionInfo,
  ExtractionProgress,
  ExtractionResult,
  NonFiniteCount,
} from './types.js';

export interface LayerToFetch {
  tensor: string;
  name: string;
  op: string;
}

export interface BatchLoopOptions {
  sinks?: ActivationSink[];
  /** Examples per run after calibration (default: chosen from memory). */
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
  input: ModelInput;
  probe: ProbeSource;
  layers: LayerToFetch[];
  /** Layers were named one by one: one that does not split per example is an error, not a note. */
  explicit: boolean;
  model: { path: string; sha256: string };
  notes: string[];
  /**
   * `layers` as an earlier calibration of the same session and probe saw them (same order): they
   * are known to split per example, so the first batches are not checked again.
   */
  calibrated?: readonly ExtractedLayer[];
}

interface Range {
  index: number;
  start: number;
  count: number;
}

interface RanBatch {
  range: Range;
  /** Rows fed to the model (more than range.count when padded to a fixed batch). */
  padded: number;
  outputs: WireTensor[];
}

const CALIBRATION_SIZES = [2, 3];

export async function runBatches(job: BatchLoopInput, options: BatchLoopOptions = {}): Promise<ExtractionResult> {
  const { session, input, probe, model } = job;
  const sinks = options.sinks ?? [];
  const signal = options.signal;
  const inFlight = Math.max(1, options.inFlight ?? 2);
  const n = probe.n;
  const fixedBatch = typeof input.shape[0] === 'number' && input.shape[0] > 0 ? input.shape[0] : null;
  const notes = [...job.notes];
  if (fixedBatch !== null && options.batchSize !== undefined && options.batchSize !== fixedBatch) {
    notes.push(`the model takes batches of exactly ${fixedBatch}; batch size ${options.batchSize} was not used`);
  }
  const perExample = probe.exampleShape.reduce((a, b) => a * b, 1);
  const started = performance.now();
  const nonFinite: Record<string, NonFiniteCount> = {};
  let fetch = job.layers.map((l) => l.tensor);
  let layers: ExtractedLayer[] = [];
  let batchesTotal = 0;
  let batchesDone = 0;
  let examplesDone = 0;

  const runRange = async (range: Range): Promise<RanBatch> => {
    const padded = fixedBatch ?? range.count;
    const values = await probe.read(range.start, range.count);
    const data = padded === range.count ? values : padTo(values, padded * perExample);
    const outputs = await session.run(
      [{ name: input.name, type: 'float32', dims: [padded, ...probe.exampleShape], data }],
      fetch,
      { signal, doing: `running batch ${range.index + 1}${batchesTotal ? `/${batchesTotal}` : ''}` },
    );
    return { range, padded, outputs };
  };

  /** Hands one batch's rows (of the kept layers: `outputs` in `layers` order) to the sinks. */
  const deliver = async ({ range, padded, outputs }: RanBatch): Promise<void> => {
    for (const [i, tensor] of outputs.entries()) {
      const layer = layers[i]!;
      const shape = tensor.dims.slice(1);
      if (tensor.dims[0] !== padded || shape.join('x') !== layer.shape.join('x')) {
        throw new WorkbenchError(
          'RUNTIME',
          `${model.path}: layer '${layer.name}' came out as [${tensor.dims.join(', ')}] for a batch of ${padded}, ` +
            `after [${padded}, ${layer.shape.join(', ')}] was expected; its rows cannot form one array`,
        );
      }
      const data = rowsOf(tensor, range.count * layer.features, model.path, layer);
      const count = scanNonFinite(data, layer.features, range.start, nonFinite[layer.tensor]);
      if (count) {
        nonFinite[layer.tensor] = count;
        if ((options.nonFinite ?? 'error') === 'error') throw nonFiniteError(layer, count, model.path);
      }
      const batch = {
        layer: i,
        tensor: layer.tensor,
        rowOffset: range.start,
        rows: range.count,
        features: layer.features,
        data,
      };
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
    // Calibration batches (one batch of B for fixed-batch models).
    const calibration: RanBatch[] = [];
    let start = 0;
    for (const size of fixedBatch ? [fixedBatch] : CALIBRATION_SIZES) {
      if (start >= n) break;
      const count = Math.min(size, n - start);
      calibration.push(await runRange({ index: calibration.length, start, count }));
      start += count;
    }
    const kept = job.calibrated
      ? job.calibrated.map(({ shape, dtype }, index) => ({ index, shape, dtype }))
      : perExampleLayers(job, calibration, notes);
    layers = kept.map(({ index, shape, dtype }) => ({
      ...job.layers[index]!,
      shape,
      features: shape.reduce((a, b) => a * b, 1),
      dtype,
    }));
    fetch = layers.map((l) => l.tensor);
    const keptOutputs = (ran: RanBatch): RanBatch => ({ ...ran, outputs: kept.map((k) => ran.outputs[k.index]!) });
    const valuesPerExample = perExample + layers.reduce((sum, l) => sum + l.features, 0);
    const batchSize = fixedBatch ?? options.batchSize ?? defaultBatchSize(valuesPerExample, inFlight, n);
    batchesTotal = calibration.length + Math.ceil((n - start) / batchSize);

    const info: ExtractionInfo = { model, probe: { spec: probe.spec, hash: probe.hash, n }, layers };
    for (const sink of sinks) await sink.begin?.(info);
    for (const ran of calibration) await deliver(keptOutputs(ran));

    const ranges: Range[] = [];
    for (let index = calibration.length; start < n; start += batchSize, index++) {
      ranges.push({ index, start, count: Math.min(batchSize, n - start) });
    }
    const pending: Promise<RanBatch>[] = [];
    let next = 0;
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
      probe: { spec: probe.spec, hash: probe.hash, n },
      layers,
      nonFinite,
      batchSize,
      batches: batchesDone,
      seconds,
      examplesPerSecond: n / Math.max(seconds, 1e-9),
      notes: [...notes, ...probe.notes],
    };
  } catch (err) {
    const reason =
      signal?.aborted && !(err instanceof WorkbenchError) ? new WorkbenchError('CANCELLED', 'cancelled') : err;
    await Promise.all(sinks.map((s) => Promise.resolve(s.abort?.(reason)).catch(() => undefined)));
    throw reason;
  }
}

/** Layers whose first axis was the batch in every calibration batch, with their per-example shape. */
function perExampleLayers(
  job: BatchLoopInput,
  calibration: RanBatch[],
  notes: string[],
): { index: number; shape: number[]; dtype: string }[] {
  const kept: { index: number; shape: number[]; dtype: string }[] = [];
  const leftOut = new LeftOutLayers({ shown: 3, separator: '; ' });
  job.layers.forEach((layer, index) => {
    const seen = calibration.map((ran) => ({ dims: ran.outputs[index]!.dims, batch: ran.padded }));
    const shape = seen[0]!.dims.slice(1);
    const ok = seen.every(
      ({ dims, batch }) => dims.length > 0 && dims[0] === batch && dims.slice(1).join('x') === shape.join('x'),
    );
    const values = shape.reduce((a, b) => a * b, 1);
    if (ok && values > MAX_VALUES_PER_EXAMPLE) {
      // A shape onnxruntime could not tell in advance, seen now: too large to extract.
      const what = `layer '${layer.name}' (tensor ${layer.tensor}) has ${formatValueCount(values)} per example`;
      if (job.explicit) {
        throw new WorkbenchError(
          'OUT_OF_MEMORY',
          `${job.model.path}: ${what}; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)}`,
        );
      }
      leftOut.tooLarge.push(`${layer.name} [${shape.join(', ')}]`);
      return;
    }
    if (ok) {
      kept.push({ index, shape, dtype: calibration[0]!.outputs[index]!.type });
      return;
    }
    const observed = seen.map(({ dims, batch }) => `[${dims.join(', ')}] for ${batch}`).join(', ');
    if (job.explicit) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${job.model.path}: layer '${layer.name}' (tensor ${layer.tensor}) came out as ${observed} example(s): ` +
          'its first axis is not the examples, so it cannot be split per example',
      );
    }
    leftOut.dropped.push(`${layer.name} (${observed})`);
  });
  leftOut.requireKept(kept.length, job.model.path, 'none of the selected layers has the examples as its first axis');
  notes.push(...leftOut.notes());
  return kept;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new WorkbenchError('CANCELLED', 'cancelled');
}

function padTo(values: Float32Array, length: number): Float32Array {
  const out = new Float32Array(length);
  out.set(values);
  return out;
}

/** The first `length` values of a float tensor as float32 (converting float16/float64). */
function rowsOf(tensor: WireTensor, length: number, modelPath: string, layer: ExtractedLayer): Float32Array {
  const { data } = tensor;
  if (tensor.type === 'float32') return (data as Float32Array).subarray(0, length);
  if (tensor.type === 'float64') return Float32Array.from((data as Float64Array).subarray(0, length));
  if (tensor.type === 'float16') {
    const halves = data as Uint16Array;
    const out = new Float32Array(length);
    for (let i = 0; i < length; i++) out[i] = halfToFloat(halves[i]!);
    return out;
  }
  throw new WorkbenchError(
    'UNSUPPORTED',
    `${modelPath}: layer '${layer.name}' is ${tensor.type}; only float layers can be extracted`,
  );
}
