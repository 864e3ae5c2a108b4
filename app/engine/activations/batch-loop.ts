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
import type { LayerGrams, LayerWritten, RowFileSpec, RunGramsRequest, WireTensor } from '../runner/protocol.js';
import { ROW_FLOAT_TYPES, asFloat32 } from '../runner/reduce.js';
import { defaultBatchSize } from './batch-size.js';
import { mergeNonFinite, scanNonFinite } from '../cka/non-finite.js';
import { nonFiniteError } from './non-finite.js';
import {
  isRowFileSink,
  type ActivationSink,
  type GramSink,
  type ExtractedLayer,
  type ExtractionInfo,
  type ExtractionProgress,
  type ExtractionResult,
  type NonFiniteCount,
  type RowFileSink,
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
  /**
   * Grams instead of rows: the runner cuts the rows of each layer `of` chooses (default: all)
   * into batches of `batchSize` and sends only their Grams (runner/batch-grams.ts), which go to
   * `sink`; the other layers' rows go to the sinks as usual.
   */
  grams?: {
    batchSize: number;
    precision: RunGramsRequest['precision'];
    /** onnxruntime threads for each Gram in the runner (default 1). */
    threads?: number;
    sink: GramSink;
    of?: (layer: ExtractedLayer) => boolean;
  };
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
  /** One per layer: its rows, or null where its Grams came instead. */
  outputs: (WireTensor | null)[];
  /** Gram mode: one per layer, null where its rows came instead. */
  grams?: (LayerGrams | null)[];
  /** File mode: one per layer, null where its rows came instead. */
  written?: (LayerWritten | null)[];
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

  const gramMode = options.grams;
  // File mode: the only sink lets the runner write the rows into its files (types.ts RowFileSink).
  const fileSink: RowFileSink | null = !gramMode && sinks.length === 1 && isRowFileSink(sinks[0]!) ? sinks[0]! : null;
  let rowFiles: ({ file: string; target: string } | null)[] | null = null;
  // Runs are posted in range order: each range's probe read waits for the one before it (in Gram
  // mode the runner carries rows from one run to the next, and checks their order).
  let previousRead: Promise<unknown> = Promise.resolve();
  const runRange = async (range: Range): Promise<RanBatch> => {
    const rows = fixedBatch ?? range.count;
    const read = previousRead.then(() => feeds.read(range.start, range.count, { rows }));
    previousRead = read.catch(() => undefined);
    const batch = await read;
    const runOptions = {
      signal,
      doing: `running batch ${range.index + 1}${batchesTotal ? `/${batchesTotal}` : ''}`,
      ...(reduced ? { reduce: { layers: plans, examples: range.count, mask: batch.mask, length: batch.length } } : {}),
    };
    if (gramMode) {
      const request: RunGramsRequest = {
        batchSize: gramMode.batchSize,
        precision: gramMode.precision,
        restart: range.index === 0,
        ...(gramMode.threads !== undefined ? { threads: gramMode.threads } : {}),
        layers: layers.map((layer, i) => (gramLayers[i] ? postRows(i, range) : null)),
      };
      const reply = await session.runGrams(batch.feeds, fetch, request, runOptions);
      return { range, outputs: withRows(reply.grams, reply.rows), grams: reply.grams };
    }
    if (rowFiles) {
      const files = rowFiles;
      const request = {
        layers: layers.map((layer, i): RowFileSpec | null =>
          files[i] ? { ...files[i]!, ...postRows(i, range), totalRows: layer.rows } : null,
        ),
      };
      const reply = await session.runToFiles(batch.feeds, fetch, request, runOptions);
      return { range, outputs: withRows(reply.written, reply.rows), written: reply.written };
    }
    const outputs = await session.run(batch.feeds, fetch, runOptions);
    return { range, outputs };
  };
  /** Gram mode: which layers send Grams. */
  const gramLayers = layers.map((l) => gramMode !== undefined && (gramMode.of?.(l) ?? true));
  /** Gram and file modes: the next run's first row of each layer (counted as runs are posted, in order). */
  const postedRows = layers.map(() => 0);
  /** Where a layer's rows of `range` start, how many there are, and the dims its output must have. */
  const postRows = (i: number, range: Range) => {
    const layer = layers[i]!;
    const rowOffset = postedRows[i]!;
    const count = rowsFor(layer, range);
    postedRows[i] = rowOffset + count;
    return { dims: expectedDims(layer, range, count), rows: count, features: layer.features, rowOffset };
  };
  /** One output per layer: the rows that came back, in order, where the runner did not keep them (null). */
  const withRows = (kept: readonly unknown[], rows: WireTensor[]): (WireTensor | null)[] => {
    let next = 0;
    return kept.map((k) => (k === null ? (rows[next++] ?? null) : null));
  };

  /** The dims a layer's output must have for a range: the whole batch as calibrated, or reduced rows. */
  const expectedDims = (layer: ExtractedLayer, range: Range, rows: number): number[] =>
    layer.plan === null ? [fixedBatch ?? range.count, ...layer.shape] : [rows, layer.features];

  /** Throws the reason a layer's output cannot be its rows for `range`. */
  const checkOutput = (layer: ExtractedLayer, range: Range, dims: readonly number[], type: string): void => {
    if (!ROW_FLOAT_TYPES.has(type)) {
      throw new WorkbenchError(
        'UNSUPPORTED',
        `${model.path}: layer '${layer.name}' is ${type}; only float layers can be extracted`,
      );
    }
    const expectedRows = rowsFor(layer, range);
    if (layer.plan === null) {
      const batchRows = fixedBatch ?? range.count;
      if (dims[0] !== batchRows || dims.slice(1).join('x') !== layer.shape.join('x')) {
        throw new WorkbenchError(
          'RUNTIME',
          `${model.path}: layer '${layer.name}' came out as [${dims.join(', ')}] for a batch of ${batchRows}, ` +
            `after [${batchRows}, ${layer.shape.join(', ')}] was expected; its rows cannot form one array`,
        );
      }
    } else if (dims[0] !== expectedRows || dims[1] !== layer.features || dims.length !== 2) {
      throw new WorkbenchError(
        'RUNTIME',
        `${model.path}: layer '${layer.name}' gave [${dims.join(', ')}] rows for examples ${range.start}…${range.start + range.count - 1}, ` +
          `after [${expectedRows}, ${layer.features}] was expected`,
      );
    }
  };

  /** Adds a layer's non-finite count; the error, unless they are only reported. */
  const countNonFinite = (layer: ExtractedLayer, count: NonFiniteCount | undefined): void => {
    if (!count) return;
    nonFinite[layer.tensor] = count;
    if ((options.nonFinite ?? 'error') === 'error') throw nonFiniteError(layer, count, model.path);
  };

  /** Rows a layer gives for examples [start, start + count). */
  const rowsFor = (layer: ExtractedLayer, range: Range): number => {
    if (layer.rowsPerExample !== 'valid') return range.count * layer.rowsPerExample;
    let total = 0;
    for (let i = range.start; i < range.start + range.count; i++) total += feeds.validTokens![i]!;
    return total;
  };

  /** Hands one batch's rows (or Grams) to the sinks. */
  const deliver = async ({ range, outputs, grams, written }: RanBatch): Promise<void> => {
    for (const [i, layer] of layers.entries()) {
      // What the runner kept (Grams, or rows it wrote to a file): checked from its dims and type.
      const kept = grams?.[i] ?? written?.[i];
      if (kept) {
        checkOutput(layer, range, kept.dims, kept.type);
        countNonFinite(layer, mergeNonFinite(nonFinite[layer.tensor], kept.nonFinite ?? undefined));
      }
      const entry = grams?.[i];
      if (entry && gramMode) {
        await gramMode.sink.writeGrams(i, entry.grams, entry.rows);
        continue;
      }
      const wrote = written?.[i];
      if (wrote && fileSink) {
        const expected = rowsFor(layer, range);
        if (wrote.rows !== expected) {
          throw new WorkbenchError(
            'INTERNAL',
            `${model.path}: the runner wrote ${wrote.rows} of ${expected} rows of '${layer.name}'`,
          );
        }
        fileSink.rowsWritten(i, wrote.rows);
        rowOffsets[i]! += wrote.rows;
        continue;
      }
      const tensor = outputs[i];
      if (!tensor) throw new WorkbenchError('INTERNAL', `${model.path}: no output for layer '${layer.name}'`);
      const expectedRows = rowsFor(layer, range);
      checkOutput(layer, range, tensor.dims, tensor.type);
      // Whole outputs are cut to this batch's rows (a fixed batch may carry padding rows after them).
      const data =
        layer.plan === null
          ? asFloat32(tensor).subarray(0, range.count * layer.features)
          : (tensor.data as Float32Array);
      countNonFinite(layer, scanNonFinite(data, layer.features, rowOffsets[i]!, nonFinite[layer.tensor]));
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
    if (fileSink) {
      const files = layers.map((_, i) => fileSink.rowFile(i));
      rowFiles = files.some((f) => f !== null) ? files : null;
    }
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
      // Every sink has copied or written its rows by now: their buffer may take a later reply.
      session.recycle(ran.outputs.filter((t): t is WireTensor => t !== null));
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
