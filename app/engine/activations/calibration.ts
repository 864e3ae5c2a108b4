/**
 * Calibration: two small batches (2 and 3 examples; one batch of B for a model with a fixed batch
 * size B) show how every selected layer splits into examples before anything is extracted:
 *
 * - first axis 2, then 3: the examples;
 * - first axis 2k, then 3k (the same k ≥ 2): examples × k, e.g. batch × attention heads. One
 *   example run alone tells whether example i owns rows ik…ik+k−1 or rows h·B + i; the layer is
 *   then regrouped to [examples, k, …]. Neither: it is left out, with the reason;
 * - another axis 2, then 3 (a stacked [3, batch, …], a sequence-first [T, batch, d]): the examples
 *   are taken from that axis;
 * - anything else (a scalar, [3, batch·heads, …]): left out, with the reason;
 * - for token probes the two batches are padded to different lengths where the probe allows, so
 *   the axes that follow the token length are seen moving (else: axes of the batch's length).
 *
 * Then each kept layer is planned under its reduction (layer-plan.ts); one that cannot be reduced
 * is left out too. Layers named one by one are refused instead of left out.
 */
import type { OmittedLayer, ReduceSpec } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { reductionOf } from '../../common/reductions.js';
import type { ChannelAxis } from '../onnx/layouts.js';
import type { FeedSource } from '../probe/feeds.js';
import { MAX_VALUES_PER_EXAMPLE, formatValueCount } from '../probe/source.js';
import type { RunnerSession } from '../runner/model-runner.js';
import type { WireTensor } from '../runner/protocol.js';
import { asFloat32 } from '../runner/reduce.js';
import { planLayer, type LayerFacts } from './layer-plan.js';
import { LeftOutLayers } from './left-out.js';
import { layerKey, type ExtractedLayer } from './types.js';

export interface CalibrationLayer {
  tensor: string;
  name: string;
  op: string;
  /** The graph's channel axis of the tensor, if it traces one. */
  channel: ChannelAxis | null;
}

export interface CalibrationJob {
  session: RunnerSession;
  feeds: FeedSource;
  /** The model's fixed batch size, or null. */
  fixedBatch: number | null;
  layers: CalibrationLayer[];
  reduce: ReduceSpec | undefined;
  /** Layers were named one by one: one that cannot be extracted is an error. */
  explicit: boolean;
  model: { path: string; sha256: string };
  signal?: AbortSignal | undefined;
  /** A limit per calibration batch below the runner's own. */
  timeoutMs?: number;
}

export interface CalibrationResult {
  layers: ExtractedLayer[];
  omitted: OmittedLayer[];
  notes: string[];
}

interface Ran {
  rows: number;
  count: number;
  length: number | null;
  /** Aligned with the job's layers; null for a layer the batch did not fetch (too large). */
  outputs: (WireTensor | null)[];
}

const CALIBRATION_SIZES = [2, 3];

/** Runs the calibration batches through every selected layer. */
async function runCalibration(
  job: Pick<CalibrationJob, 'session' | 'feeds' | 'fixedBatch' | 'layers' | 'signal' | 'timeoutMs'>,
): Promise<Ran[]> {
  const { feeds, fixedBatch } = job;
  // Layers the first batch shows to be too large per example are not fetched again: a layer of
  // gigabytes per batch costs seconds to move, and its answer is already known.
  let fetched = job.layers.map((_, i) => i);
  const ran: Ran[] = [];
  let start = 0;
  for (const size of fixedBatch ? [fixedBatch] : CALIBRATION_SIZES) {
    if (start >= feeds.n) break;
    const count = Math.min(size, feeds.n - start);
    const rows = fixedBatch ?? count;
    // Token probes: a second length unlike the first, so that axes following it show.
    const previous = ran[0]?.length ?? null;
    const natural = feeds.batchLength(start, count);
    const seq = feeds.sequence;
    const minLength =
      seq &&
      !seq.fixedLength &&
      previous !== null &&
      natural !== null &&
      natural <= previous &&
      previous < seq.capLength
        ? previous + 1
        : 0;
    const batch = await feeds.read(start, count, { rows, minLength });
    const results = await job.session.run(
      batch.feeds,
      fetched.map((i) => job.layers[i]!.tensor),
      {
        signal: job.signal,
        doing: `running calibration batch ${ran.length + 1}`,
        ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
      },
    );
    const outputs: (WireTensor | null)[] = job.layers.map(() => null);
    fetched.forEach((i, j) => (outputs[i] = results[j]!));
    ran.push({ rows, count, length: batch.length, outputs });
    fetched = fetched.filter((i) => valuesPerRow(outputs[i]!, rows) <= MAX_VALUES_PER_EXAMPLE);
    start += count;
  }
  return ran;
}

function valuesPerRow(tensor: WireTensor, rows: number): number {
  return tensor.dims.reduce((a, b) => a * b, 1) / Math.max(1, rows);
}

export type Split =
  | { kind: 'examples' | 'grouped'; k: number; shape: number[]; seqAxes: number[]; batchAxis: number | null }
  | { kind: 'none'; reason: string }
  | { kind: 'large'; values: number };

/** How one layer's outputs split into examples across the calibration batches. */
function splitOf(index: number, ran: readonly Ran[], sequence: boolean, fixedBatch: boolean): Split {
  const first = ran[0]!.outputs[index]!;
  if (ran.some((r) => r.outputs[index] === null) || valuesPerRow(first, ran[0]!.rows) > MAX_VALUES_PER_EXAMPLE) {
    return { kind: 'large', values: valuesPerRow(first, ran[0]!.rows) };
  }
  const seen = ran.map((r) => ({ dims: r.outputs[index]!.dims, rows: r.rows, length: r.length }));
  const observed = seen.map((s) => `[${s.dims.join(', ')}] for ${s.rows}`).join(', ');
  if (seen.some((s) => s.dims.length === 0)) return { kind: 'none', reason: `it is a scalar (${observed} example(s))` };
  let k = 1;
  let batchAxis: number | null = null;
  // The examples on another axis: it follows the batch in every run (which needs two batch sizes).
  const rank0 = seen[0]!.dims.length;
  if (!seen.every((s) => s.dims[0] === s.rows) && !fixedBatch && seen.length > 1) {
    for (let a = 1; a < rank0 && batchAxis === null; a++) {
      if (seen.every((s) => s.dims.length === rank0 && s.dims[a] === s.rows)) batchAxis = a;
    }
  }
  if (batchAxis !== null) {
    const moved = seen.map((s) => ({
      ...s,
      dims: [s.rows, ...s.dims.slice(0, batchAxis!), ...s.dims.slice(batchAxis! + 1)],
    }));
    const inner = splitOf(
      0,
      moved.map((m) => ({
        rows: m.rows,
        count: m.rows,
        length: m.length,
        outputs: [{ name: '', type: '', dims: m.dims, data: new Float32Array(0) }],
      })),
      sequence,
      fixedBatch,
    );
    return inner.kind === 'none' || inner.kind === 'large' ? inner : { ...inner, batchAxis };
  }
  if (!seen.every((s) => s.dims[0] === s.rows)) {
    const ratio = seen[0]!.dims[0]! / seen[0]!.rows;
    const grouped =
      !fixedBatch &&
      seen.length > 1 &&
      Number.isInteger(ratio) &&
      ratio >= 2 &&
      seen.every((s) => s.dims[0] === s.rows * ratio);
    if (!grouped) {
      return {
        kind: 'none',
        reason: `its first axis is not the examples (it came out as ${observed} example(s))`,
      };
    }
    k = ratio;
  }
  const rests = seen.map((s) => s.dims.slice(1));
  const rank = rests[0]!.length;
  if (rests.some((r) => r.length !== rank))
    return { kind: 'none', reason: `its rank changes from batch to batch (${observed})` };
  const lengths = seen.map((s) => s.length);
  const varied = sequence && new Set(lengths).size > 1;
  const seqAxes: number[] = [];
  for (let a = 0; a < rank; a++) {
    const sizes = rests.map((r) => r[a]!);
    const moves = new Set(sizes).size > 1;
    const follows = sequence && sizes.every((d, r) => d === lengths[r]);
    if (moves && !follows) return { kind: 'none', reason: `its shape changes from batch to batch (${observed})` };
    // Without two lengths to tell them apart, an axis as long as the batch's tokens is taken for one.
    if (follows && (moves || !varied)) seqAxes.push(a);
  }
  const shape = rests[0]!;
  return k > 1
    ? { kind: 'grouped', k, shape: [k, ...shape], seqAxes: seqAxes.map((a) => a + 1), batchAxis: null }
    : { kind: 'examples', k: 1, shape, seqAxes, batchAxis: null };
}

/** Close enough to be the same values computed in another batch. */
function same(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  let scale = 1;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff <= 1e-4 * scale;
}

/** For grouped layers: which rows belong to example 0, found by running it alone. */
async function groupOrders(
  job: Pick<CalibrationJob, 'session' | 'feeds' | 'layers' | 'signal' | 'timeoutMs'>,
  first: Ran,
  grouped: number[],
): Promise<Map<number, 'example' | 'head' | null>> {
  const orders = new Map<number, 'example' | 'head' | null>();
  if (grouped.length === 0) return orders;
  const batch = await job.feeds.read(0, 1, { rows: 1, minLength: first.length ?? 0 });
  const outputs = await job.session.run(
    batch.feeds,
    grouped.map((i) => job.layers[i]!.tensor),
    {
      signal: job.signal,
      doing: 'running calibration batch 3',
      ...(job.timeoutMs !== undefined ? { timeoutMs: job.timeoutMs } : {}),
    },
  );
  grouped.forEach((index, j) => {
    const alone = asFloat32(outputs[j]!);
    const together = asFloat32(first.outputs[index]!);
    const k = outputs[j]!.dims[0]!;
    const size = alone.length / Math.max(1, k);
    const headRows = new Float32Array(alone.length);
    for (let h = 0; h < k; h++)
      headRows.set(together.subarray(h * first.rows * size, (h * first.rows + 1) * size), h * size);
    orders.set(
      index,
      same(together.subarray(0, alone.length), alone) ? 'example' : same(headRows, alone) ? 'head' : null,
    );
  });
  return orders;
}

/** How every layer splits into examples (and, for grouped ones, which rows are whose). */
export async function analyseSplits(
  job: Pick<CalibrationJob, 'session' | 'feeds' | 'fixedBatch' | 'layers' | 'signal' | 'timeoutMs'>,
): Promise<{
  splits: Split[];
  orders: Map<number, 'example' | 'head' | null>;
  lengths: (number | null)[];
  /** Each layer's element type as onnxruntime produced it. */
  dtypes: string[];
}> {
  const ran = await runCalibration(job);
  const sequence = job.feeds.sequence !== null;
  const splits = job.layers.map((_, i) => splitOf(i, ran, sequence, job.fixedBatch !== null));
  const grouped = splits.flatMap((s, i) => (s.kind === 'grouped' ? [i] : []));
  const orders = await groupOrders(job, ran[0]!, grouped);
  return { splits, orders, lengths: ran.map((r) => r.length), dtypes: ran[0]!.outputs.map((o) => o!.type) };
}

export async function calibrate(job: CalibrationJob): Promise<CalibrationResult> {
  const { feeds } = job;
  const { splits, orders, lengths, dtypes } = await analyseSplits(job);
  const sequence = feeds.sequence !== null;
  const probe = { sequence, padTo: feeds.sequence?.maxLength ?? 0 };
  const layers: ExtractedLayer[] = [];
  const omitted: OmittedLayer[] = [];
  const leftOut = new LeftOutLayers({ shown: 3, separator: '; ' });
  const notes: string[] = [];
  const where = (l: CalibrationLayer) => `layer '${l.name}' (tensor ${l.tensor})`;
  const leave = (layer: CalibrationLayer, reason: string, code: 'BAD_INPUT' | 'OUT_OF_MEMORY' = 'BAD_INPUT') => {
    if (job.explicit) throw new WorkbenchError(code, `${job.model.path}: ${where(layer)}: ${reason}`);
    omitted.push({ tensor: layer.tensor, name: layer.name, reason });
    (code === 'OUT_OF_MEMORY' ? leftOut.tooLarge : leftOut.dropped).push(layer.name);
  };
  job.layers.forEach((layer, i) => {
    const split = splits[i]!;
    if (split.kind === 'none') return leave(layer, `${split.reason}, so it cannot be split per example`);
    if (split.kind === 'large') {
      const why = `it has ${formatValueCount(split.values)} per example; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)}`;
      return leave(layer, why, 'OUT_OF_MEMORY');
    }
    let group: LayerFacts['group'] = null;
    if (split.kind === 'grouped') {
      const order = orders.get(i);
      if (!order) {
        return leave(
          layer,
          `its first axis is examples × ${split.k}, but an example's ${split.k} rows are neither together nor ${split.k} apart`,
        );
      }
      group = { k: split.k, order };
    }
    const facts: LayerFacts = {
      shape: split.shape,
      seqAxes: split.seqAxes,
      group,
      batchAxis: split.batchAxis,
      op: layer.op,
      channel: layer.channel,
    };
    const rawValues = split.shape.reduce((a, b) => a * b, 1);
    const padded = split.shape.map((d, a) => (split.seqAxes.includes(a) ? Math.max(d, probe.padTo) : d));
    const values = padded.reduce((a, b) => a * b, 1);
    if (values > MAX_VALUES_PER_EXAMPLE) {
      const why = `it has ${formatValueCount(values)} per example; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)}`;
      return leave(layer, why, 'OUT_OF_MEMORY');
    }
    const reduction = reductionOf(job.reduce, layer);
    const planning = planLayer(facts, reduction, probe);
    if ('omitted' in planning) return leave(layer, planning.omitted);
    const perExample = planning.rowsPerExample;
    const rows =
      perExample === 'valid' ? Array.from(feeds.validTokens ?? []).reduce((a, b) => a + b, 0) : feeds.n * perExample;
    const tokenization =
      reduction !== 'tokens'
        ? undefined
        : perExample === 'valid'
          ? (feeds.tokenization ?? undefined)
          : `${perExample} tokens per example`;
    layers.push({
      tensor: layer.tensor,
      name: layer.name,
      op: layer.op,
      shape: planning.rowShape,
      features: planning.features,
      dtype: dtypes[i]!,
      reduction,
      key: layerKey(layer.tensor, reduction),
      rows,
      plan: planning.plan,
      rowsPerExample: perExample === 1 ? 1 : perExample,
      ...(tokenization !== undefined ? { tokenization } : {}),
      rawValues,
    });
  });
  if (layers.length === 0) {
    leftOut.requireKept(0, job.model.path, 'none of the selected layers can be extracted');
  }
  notes.push(...leftOut.notes());
  const moved = layers.filter((l) => l.plan?.batchAxis !== undefined);
  if (moved.length > 0) {
    notes.push(
      `took the examples from another axis than the first in ${moved.length} layer(s): ${moved
        .slice(0, 3)
        .map((l) => `${l.name} (axis ${l.plan!.batchAxis!})`)
        .join(', ')}${moved.length > 3 ? ', …' : ''}`,
    );
  }
  const regrouped = layers.filter((l) => l.plan?.group);
  if (regrouped.length > 0) {
    notes.push(
      `regrouped ${regrouped.length} layer(s) whose first axis is examples × k to [examples, k, …]: ${regrouped
        .slice(0, 3)
        .map((l) => `${l.name} (k = ${l.plan!.group!.k})`)
        .join(', ')}${regrouped.length > 3 ? ', …' : ''}`,
    );
  }
  if (sequence && new Set(lengths).size === 1 && lengths.length > 1 && !feeds.sequence!.fixedLength) {
    notes.push(`every calibration batch had ${lengths[0]} tokens: axes of that length were taken to follow the tokens`);
  }
  return { layers, omitted, notes };
}
