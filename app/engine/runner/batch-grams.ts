/**
 * Grams inside the model runner: for minibatch CKA straight from a model (Nguyen et al. 2021's
 * per-batch HSIC₁ only needs each batch's b×b Gram per layer), and for the exact Gram of a layer
 * wider than its examples (one batch of all n rows, held here instead of in the host).
 *
 * Each fetched layer's rows are cut into batches of b in probe order, carried from one run to the
 * next (runs of a session arrive in order; the host says where each run's rows start, and a gap
 * is an error). A full batch's centred Gram is computed here by compute/gram.ts — the code and
 * onnxruntime graph the CKA workers use on the same float32 rows, so the numbers are the same bit
 * for bit — and only its b(b+1)/2 values go back (float32 for a float32 product, as the workers
 * keep theirs), where the rows were b·p float32: for the zoo's CNNs 1/500 of the bytes, so
 * nothing large is copied, spilled or scanned by the host.
 * The non-finite values of every row are counted here too (cka/non-finite.ts).
 */
import { WorkbenchError } from '../../common/errors.js';
import { scanNonFinite } from '../cka/non-finite.js';
import { packedLength } from '../cka/packed.js';
import { centredGramInto } from '../compute/gram.js';
import { arrayTypeOf } from '../compute/onnx-graph.js';
import { Workspace } from '../compute/workspace.js';
import type { GramBatch, LayerGrams, RunGramsRequest, WireTensor } from './protocol.js';
import { askedRows } from './reduce.js';

interface Carry {
  features: number;
  /** Rows of the batch being filled. */
  filling: Float32Array;
  filled: number;
  /** Rows taken in so far (the next run's rows must start here). */
  received: number;
}

export class GramCarry {
  private readonly carries: Carry[] = [];
  private readonly workspace = new Workspace();

  constructor(
    readonly batchSize: number,
    private readonly precision: RunGramsRequest['precision'],
    private readonly threads = 1,
  ) {
    if (!Number.isInteger(batchSize) || batchSize < 4) {
      throw new WorkbenchError('BAD_INPUT', `minibatch Grams need batches of at least 4 rows, got ${batchSize}`);
    }
  }

  /**
   * Takes one run's outputs (one per layer of the request) and returns their completed batches'
   * Grams; null for the layers without a Gram spec.
   */
  async add(outputs: readonly WireTensor[], request: RunGramsRequest): Promise<(LayerGrams | null)[]> {
    if (outputs.length !== request.layers.length) {
      throw new WorkbenchError(
        'INTERNAL',
        `runner: ${outputs.length} outputs for ${request.layers.length} Gram layers`,
      );
    }
    const replies: (LayerGrams | null)[] = [];
    for (const [i, tensor] of outputs.entries()) {
      const spec = request.layers[i];
      if (!spec) {
        replies.push(null);
        continue;
      }
      const reply: LayerGrams = { type: tensor.type, dims: [...tensor.dims], rows: 0, nonFinite: null, grams: [] };
      replies.push(reply);
      const rows = askedRows(tensor, spec);
      // Not the asked-for rows: nothing is taken in, and the host names the problem from dims and type.
      if (!rows) continue;
      const carry = this.carryOf(i, spec.features);
      if (spec.rowOffset !== carry.received) {
        throw new WorkbenchError(
          'INTERNAL',
          `runner: Gram rows of layer ${i} arrived out of order (rows from ${spec.rowOffset}, after ${carry.received})`,
        );
      }
      reply.rows = spec.rows;
      reply.nonFinite = scanNonFinite(rows, spec.features, spec.rowOffset, undefined) ?? null;
      carry.received += spec.rows;
      reply.grams = await this.take(carry, rows);
    }
    return replies;
  }

  /**
   * Per layer, where onnxruntime may write this run's rows itself: the next rows of the batch
   * being filled, when the output is exactly those rows (`eligible`: float32, not reduced; no
   * padding rows) and they fit in the batch. Null where they must be copied in by `add`.
   */
  directTargets(request: RunGramsRequest, eligible: readonly boolean[]): (Float32Array | null)[] {
    return request.layers.map((spec, i) => {
      if (!spec || !eligible[i]) return null;
      const carry = this.carryOf(i, spec.features);
      const values = spec.dims.reduce((a, d) => a * d, 1);
      const exact = spec.dims[0] === spec.rows && values === spec.rows * spec.features;
      if (!exact || spec.rowOffset !== carry.received || carry.filled + spec.rows > this.batchSize) return null;
      return carry.filling.subarray(carry.filled * spec.features, (carry.filled + spec.rows) * spec.features);
    });
  }

  private carryOf(layer: number, features: number): Carry {
    let carry = this.carries[layer];
    if (!carry) {
      carry = { features, filling: new Float32Array(this.batchSize * features), filled: 0, received: 0 };
      this.carries[layer] = carry;
    }
    if (carry.features !== features) {
      throw new WorkbenchError(
        'INTERNAL',
        `runner: layer ${layer} changed from ${carry.features} to ${features} features`,
      );
    }
    return carry;
  }

  /** Appends rows to the carry; a Gram for each batch they complete. */
  private async take(carry: Carry, rows: Float32Array): Promise<GramBatch[]> {
    const b = this.batchSize;
    const p = carry.features;
    const total = rows.length / p;
    const done: GramBatch[] = [];
    const inPlace =
      rows.buffer === carry.filling.buffer &&
      rows.byteOffset === carry.filling.byteOffset + carry.filled * p * rows.BYTES_PER_ELEMENT;
    if (inPlace) {
      // onnxruntime wrote them where they belong (directTargets).
      carry.filled += total;
      if (carry.filled === b) {
        carry.filled = 0;
        done.push(await this.gramOf(carry.filling, p));
      }
      return done;
    }
    let offset = 0;
    while (offset < total) {
      // A whole batch in the run's own rows needs no copy.
      let batch: Float32Array;
      if (carry.filled === 0 && total - offset >= b) {
        batch = rows.subarray(offset * p, (offset + b) * p);
        offset += b;
      } else {
        const count = Math.min(total - offset, b - carry.filled);
        carry.filling.set(rows.subarray(offset * p, (offset + count) * p), carry.filled * p);
        carry.filled += count;
        offset += count;
        if (carry.filled < b) break;
        carry.filled = 0;
        batch = carry.filling;
      }
      done.push(await this.gramOf(batch, p));
    }
    return done;
  }

  private async gramOf(rows: Float32Array, p: number): Promise<GramBatch> {
    const b = this.batchSize;
    const dtype = this.precision === 'auto' ? 'float32' : this.precision;
    const packed = new (arrayTypeOf(dtype))(packedLength(b));
    const flags = await centredGramInto(rows, b, p, dtype, packed, this.workspace, this.threads);
    if (flags.nonFinite) packed.fill(0);
    return { packed, constant: flags.constant, nonFinite: flags.nonFinite };
  }
}
