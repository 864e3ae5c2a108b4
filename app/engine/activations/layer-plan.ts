/**
 * What a reduction means for one layer, decided once from what calibration saw (how the layer
 * splits into examples, which axes follow the token length) and what the graph says (its channel
 * axis): the runner's plan (runner/reduce.ts), the row size, or the reason it cannot be done.
 *
 * - Token layers: in a model fed token sequences, the first axis that follows the sequence length
 *   is the token axis (queries, for attention [b, heads, q, k]); in other models (a ViT), a
 *   [b, T, d] tensor's axis 1, and axis 2 of a regrouped [b, k, T, …] or of an attention map
 *   [b, heads, T, T] out of a Softmax. `mean` averages the valid tokens, `first`/`last` take the
 *   first/last valid one, `tokens` makes every valid token a row.
 * - Spatial layers (a channel axis the graph traces, checked against the weights' channel count):
 *   `mean` is global average pooling; they have no tokens.
 * - A [b, d] layer (pooled, logits) is already one vector per example: `mean`, `first` and `last`
 *   keep it; `tokens` cannot.
 * - Anything else has no known layout: reducing it would be a guess, so it is left out with the
 *   reason (or, named explicitly, refused).
 *
 * Sequence axes are always masked and padded to the probe's longest example, `flatten` included,
 * so rows do not depend on how a batch was padded.
 */
import type { Reduction } from '../../common/contract.js';
import type { ChannelAxis } from '../onnx/layouts.js';
import { planFeatures } from '../runner/reduce.js';
import type { RunLayerPlan } from '../runner/protocol.js';

export interface LayerFacts {
  /** One example's shape as calibration saw it, regrouped ([k, …] for grouped layers). */
  shape: number[];
  /** Axes of `shape` that follow the token length. */
  seqAxes: number[];
  group: { k: number; order: 'example' | 'head' } | null;
  /** The examples are on this axis of the raw output (≥ 1), not the first. */
  batchAxis: number | null;
  op: string;
  /** The graph's channel axis of the tensor (batch axis included), if it traces one. */
  channel: ChannelAxis | null;
}

export interface ProbeFacts {
  /** The probe feeds token sequences. */
  sequence: boolean;
  /** The length every sequence axis is padded to (the probe's longest example). */
  padTo: number;
}

export type LayerPlanning =
  | {
      plan: RunLayerPlan | null;
      /** One row's shape. */
      rowShape: number[];
      features: number;
      /** `tokens`: rows per example, from the probe's valid tokens (`valid`) or a fixed count. */
      rowsPerExample: number | 'valid' | 1;
    }
  | { omitted: string };

const tokenPick = { mean: 'mean', first: 'first', last: 'last', tokens: 'each' } as const;

/** The token axis of a layer's example shape, or null. */
function tokenAxis(facts: LayerFacts, probe: ProbeFacts): number | null {
  if (facts.seqAxes.length > 0) return facts.seqAxes[0]!;
  if (probe.sequence) return null;
  const rank = facts.shape.length;
  if (rank === 2 && !facts.group) return 0;
  if (rank === 3 && (facts.group || facts.op === 'Softmax')) return 1;
  return null;
}

/** The channel axis of one example (batch removed) when the graph's layout fits the real shape. */
function spatialChannelAxis(facts: LayerFacts): number | null {
  if (!facts.channel || facts.group || facts.batchAxis !== null || facts.shape.length < 2) return null;
  const axis = facts.channel.axis - 1;
  if (axis < 0 || axis >= facts.shape.length) return null;
  if (facts.channel.channels !== null && facts.shape[axis] !== facts.channel.channels) return null;
  return axis;
}

export function planLayer(facts: LayerFacts, reduction: Reduction, probe: ProbeFacts): LayerPlanning {
  const seqAxes = facts.seqAxes;
  const padded = facts.shape.map((d, i) => (seqAxes.includes(i) ? probe.padTo : d));
  const trivial = seqAxes.length === 0 && !facts.group && facts.batchAxis === null;
  const make = (reduce: RunLayerPlan['reduce']): RunLayerPlan => ({
    ...(facts.group ? { group: facts.group } : {}),
    ...(facts.batchAxis !== null ? { batchAxis: facts.batchAxis } : {}),
    seqAxes,
    padTo: probe.padTo,
    reduce,
  });
  if (reduction === 'flatten') {
    const features = padded.reduce((a, b) => a * b, 1);
    return { plan: trivial ? null : make({ kind: 'all' }), rowShape: padded, features, rowsPerExample: 1 };
  }
  const t = tokenAxis(facts, probe);
  if (t !== null) {
    const plan = make({ kind: 'token', axis: t, pick: tokenPick[reduction] });
    const rowShape = padded.filter((_, i) => i !== t);
    const rows = reduction === 'tokens' ? (seqAxes.includes(t) ? 'valid' : facts.shape[t]!) : 1;
    return { plan, rowShape, features: planFeatures(plan, facts.shape), rowsPerExample: rows };
  }
  const channel = spatialChannelAxis(facts);
  if (channel !== null) {
    if (reduction !== 'mean') {
      return { omitted: `a spatial layer (channels on axis ${channel + 1}) has no tokens for '${reduction}'` };
    }
    const plan = make({ kind: 'spatial-mean', channelAxis: channel });
    return { plan, rowShape: [facts.shape[channel]!], features: facts.shape[channel]!, rowsPerExample: 1 };
  }
  if (facts.shape.length <= 1 && !facts.group) {
    if (reduction === 'tokens') return { omitted: 'it is one vector per example: it has no tokens to make rows of' };
    const features = padded.reduce((a, b) => a * b, 1);
    return { plan: null, rowShape: padded, features, rowsPerExample: 1 };
  }
  const shape = `[${facts.group ? `${facts.group.k}, ` : ''}${facts.shape.slice(facts.group ? 1 : 0).join(', ')}]`;
  return {
    omitted:
      `its layout is unknown (one example is ${shape}${probe.sequence ? ', and no axis follows the token length' : ''}; ` +
      `the graph traces no channel axis to it): '${reduction}' would be a guess`,
  };
}
