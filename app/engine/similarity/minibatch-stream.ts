/**
 * Streaming minibatch CKA: activations arrive layer by layer, in whatever chunk sizes the
 * extractor produces; each layer's rows are cut into batches of b, and as soon as every layer has
 * batch t, its HSIC₁ traces are computed in the pool. Memory: O(layers · b²) for the traces plus
 * the rows still waiting for their batch's other layers. `push` resolves when the accumulator has
 * room again (back-pressure for the producer).
 *
 *   const acc = engine.minibatchStream(rows, cols, { name: 'minibatch', batchSize: 100 });
 *   for await (const { layerIndex, data } of activations) await acc.push('row', layerIndex, data);
 *   const result = await acc.finish();
 *
 * Probe order is batch order (a seeded shuffle needs random access: use compareMinibatch).
 *
 * Two producers running at once (two models extracted side by side) call `keepPace(side)` after
 * each of their chunks: the side ahead waits until the other has caught up, so the rows buffered
 * stay a few batches whatever n is. `release()` ends the waiting when a producer stops early.
 */
import { WorkbenchError } from '../../common/errors.js';
import type { BootstrapOptions, CkaResult, LayerRef, MinibatchMeasure } from '../cka/types.js';
import { packedLength } from '../cka/packed.js';
import type { BatchInput } from '../compute/minibatch-batch.js';
import { cancelled, type ComputePool } from '../compute/pool.js';
import type { GramBatch } from '../runner/protocol.js';
import { sharedFloat32, sharedFloat64 } from '../compute/shared-memory.js';
import { MinibatchSums } from './minibatch-sums.js';
import { distinctSources } from './sources.js';
import type { ActivationArray, GramPrecision, RunOptions } from './types.js';

export interface StreamLayer {
  layer: LayerRef;
  features: number;
}

export interface MinibatchStreamOptions extends RunOptions {
  bootstrap?: BootstrapOptions;
  precision: GramPrecision;
}

interface LayerBuffer {
  spec: StreamLayer;
  /** Rows of the batch being filled (allocated on first push, in the first chunk's precision). */
  filling: ActivationArray | null;
  filled: number;
  /** Completed batches waiting for the other layers: batch index → rows, or their Gram. */
  ready: Map<number, ActivationArray | GramBatch>;
  /** Batch buffers whose task is done, for the next batches (shared memory is not reclaimed promptly). */
  spare: ActivationArray[];
  batchesCompleted: number;
  rowsReceived: number;
}

export class MinibatchStream {
  private readonly buffers: LayerBuffer[];
  private readonly rowIndex: number[];
  private readonly colIndex: number[];
  private readonly sums: MinibatchSums;
  private readonly inFlight = new Map<number, Promise<void>>();
  private dispatched = 0;
  private failure: unknown = null;
  private finished = false;
  /** Producers waiting in keepPace; woken whenever a batch is dispatched or waiting ends. */
  private waiters: (() => void)[] = [];
  private released = false;
  private readonly started = performance.now();

  constructor(
    private readonly pool: ComputePool,
    rows: readonly StreamLayer[],
    cols: readonly StreamLayer[] | null,
    private readonly measure: MinibatchMeasure,
    private readonly options: MinibatchStreamOptions,
  ) {
    if (!Number.isInteger(measure.batchSize) || measure.batchSize < 4) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `minibatch CKA needs a batch size of at least 4 (HSIC₁ divides by b(b−3)), got ${measure.batchSize}`,
      );
    }
    if (measure.shuffleSeed !== undefined) {
      throw new WorkbenchError(
        'UNSUPPORTED',
        'a shuffled minibatch order needs random access to the activations; stream in probe order or use .npy/array sources',
      );
    }
    const { distinct, rowIndex, colIndex } = distinctSources(rows, cols ?? rows);
    this.buffers = distinct.map((spec) => ({
      spec,
      filling: null,
      filled: 0,
      ready: new Map(),
      spare: [],
      batchesCompleted: 0,
      rowsReceived: 0,
    }));
    this.rowIndex = rowIndex;
    this.colIndex = colIndex;
    this.sums = new MinibatchSums(distinct.map((d) => d.layer));
    options.signal?.addEventListener('abort', () => this.wake(), { once: true });
  }

  private layerAt(side: 'row' | 'col', index: number): LayerBuffer {
    const table = side === 'row' ? this.rowIndex : this.colIndex;
    const u = table[index];
    if (u === undefined) throw new WorkbenchError('BAD_INPUT', `no ${side} layer ${index} in this comparison`);
    return this.buffers[u]!;
  }

  /** The Grams' arithmetic, for Grams computed elsewhere (pushGrams). */
  get precision(): GramPrecision {
    return this.options.precision;
  }

  /** Appends rows ([rows, features], row-major) of one layer, in probe order. */
  async push(side: 'row' | 'col', index: number, data: ActivationArray): Promise<void> {
    this.checkOpen();
    const buffer = this.layerAt(side, index);
    const { features } = buffer.spec;
    if (data.length % features !== 0) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `layer '${buffer.spec.layer.name}': ${data.length} values are not whole rows of ${features} features`,
      );
    }
    const b = this.measure.batchSize;
    const rows = data.length / features;
    buffer.rowsReceived += rows;
    let offset = 0;
    while (offset < rows) {
      buffer.filling ??= this.batchBuffer(buffer, data instanceof Float64Array);
      const take = Math.min(rows - offset, b - buffer.filled);
      buffer.filling.set(data.subarray(offset * features, (offset + take) * features), buffer.filled * features);
      buffer.filled += take;
      offset += take;
      if (buffer.filled === b) {
        buffer.ready.set(buffer.batchesCompleted++, buffer.filling);
        buffer.filling = null;
        buffer.filled = 0;
      }
    }
    await this.dispatchWithBackPressure();
  }

  /**
   * Appends Grams of one layer's next batches, computed where the rows were (the model runner:
   * runner/batch-grams.ts), and the rows they came from — those of a last, partial batch too.
   */
  async pushGrams(side: 'row' | 'col', index: number, grams: readonly GramBatch[], rows: number): Promise<void> {
    this.checkOpen();
    const buffer = this.layerAt(side, index);
    if (buffer.filled > 0) {
      throw new WorkbenchError(
        'INTERNAL',
        `layer '${buffer.spec.layer.name}': Grams after rows of an unfinished batch`,
      );
    }
    for (const gram of grams) {
      if (gram.packed.length !== packedLength(this.measure.batchSize)) {
        throw new WorkbenchError('INTERNAL', `layer '${buffer.spec.layer.name}': a Gram of another batch size`);
      }
      buffer.ready.set(buffer.batchesCompleted++, gram);
    }
    buffer.rowsReceived += rows;
    await this.dispatchWithBackPressure();
  }

  /** What every push checks first: the stream still takes data. */
  private checkOpen(): void {
    if (this.finished) throw new WorkbenchError('BAD_INPUT', 'push after finish');
    if (this.options.signal?.aborted) throw cancelled();
    if (this.failure) throw this.failure;
  }

  /** Dispatches the batches every layer has; back-pressure: at most two batches per thread in flight. */
  private async dispatchWithBackPressure(): Promise<void> {
    this.dispatchReady();
    while (this.inFlight.size >= 2 * this.pool.threads) await Promise.race(this.inFlight.values());
    if (this.failure) throw this.failure;
  }

  private batchBuffer(buffer: LayerBuffer, wide: boolean): ActivationArray {
    const size = this.measure.batchSize * buffer.spec.features;
    const spare = buffer.spare.pop();
    if (spare && spare instanceof Float64Array === wide) return spare;
    return wide ? sharedFloat64(size, 'a minibatch') : sharedFloat32(size, 'a minibatch');
  }

  /**
   * Waits while every layer of `side` holds more than `maxAhead` completed batches that wait for
   * the other side's layers (a producer calls it after whole chunks: all its layers pushed).
   */
  async keepPace(side: 'row' | 'col', maxAhead = 2): Promise<void> {
    const table = side === 'row' ? this.rowIndex : this.colIndex;
    const ahead = () => Math.min(...table.map((u) => this.buffers[u]!.batchesCompleted)) - this.dispatched;
    while (!this.released && !this.failure && !this.options.signal?.aborted && ahead() > maxAhead) {
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    if (this.options.signal?.aborted) throw cancelled();
    if (this.failure) throw this.failure;
  }

  /** Ends all waiting in keepPace (a producer finished or failed); later pushes just buffer. */
  release(): void {
    this.released = true;
    this.wake();
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const resolve of waiting) resolve();
  }

  private dispatchReady(): void {
    const before = this.dispatched;
    try {
      this.dispatchBatches();
    } finally {
      if (this.dispatched !== before) this.wake();
    }
  }

  private dispatchBatches(): void {
    while (this.buffers.every((l) => l.ready.has(this.dispatched))) {
      const t = this.dispatched++;
      const b = this.measure.batchSize;
      const layers = this.buffers.map((l): BatchInput => {
        const data = l.ready.get(t)!;
        l.ready.delete(t);
        return ArrayBuffer.isView(data)
          ? { kind: 'shared', data, n: b, features: l.spec.features }
          : { kind: 'gram', packed: data.packed, n: b, constant: data.constant, nonFinite: data.nonFinite };
      });
      const task = this.pool
        .run<'batch'>(
          {
            kind: 'batch',
            layers,
            selection: { start: 0, count: b },
            precision: this.options.precision,
            intraOpThreads: 1,
          },
          this.options.signal,
        )
        .then((batch) => {
          this.sums.add(t, batch, (j) => t * b + j);
          this.options.onProgress?.({ stage: 'minibatch', done: t + 1, total: t + 1 });
        })
        .catch((err: unknown) => {
          this.failure ??= err;
          this.wake();
        })
        .finally(() => {
          this.inFlight.delete(t);
          this.buffers.forEach((l, u) => {
            const input = layers[u]!;
            if (input.kind === 'shared') l.spare.push(input.data);
          });
        });
      this.inFlight.set(t, task);
    }
  }

  /** Waits for every batch and returns the result; rows short of a full last batch are dropped and counted. */
  async finish(): Promise<CkaResult> {
    this.finished = true;
    this.release();
    await Promise.all(this.inFlight.values());
    if (this.failure) throw this.failure;
    const counts = this.buffers.map((l) => l.rowsReceived);
    const n = counts[0] ?? 0;
    const uneven = this.buffers.findIndex((l) => l.rowsReceived !== n);
    if (uneven >= 0) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `mismatched number of examples: layer '${this.buffers[uneven]!.spec.layer.name}' received ${counts[uneven]} rows, layer '${this.buffers[0]!.spec.layer.name}' received ${n}`,
      );
    }
    if (this.dispatched === 0) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `minibatch CKA with batches of ${this.measure.batchSize} needs at least ${this.measure.batchSize} examples, got n = ${n}`,
      );
    }
    const elapsed = performance.now() - this.started;
    return this.sums.result(
      this.measure,
      this.rowIndex,
      this.colIndex,
      this.dispatched,
      n - this.dispatched * this.measure.batchSize,
      this.options.bootstrap,
      {
        minibatch: elapsed,
        total: elapsed,
      },
    );
  }
}
