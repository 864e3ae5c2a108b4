/**
 * The `preset:blocks` selection: the tensors a person means by "the outputs of each block".
 *
 *  - post-activation tensors: outputs of Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Gelu, HardSwish,
 *    Mish, Softplus, Softsign, Tanh, Clip (ReLU6), ThresholdedRelu;
 *  - residual sums: Add/Sum nodes with two or more input-dependent operands (not bias adds), unless
 *    every consumer is an activation (then that activation is the block's output);
 *  - pooled features: global pooling (GlobalAveragePool, GlobalMaxPool, ReduceMean, ReduceMax)
 *    after which no Conv or pooling follows, i.e. the representation the head reads;
 *  - logits: float graph outputs.
 *
 * Squeeze-and-excitation gates are left out: the nodes on a branch that leaves a tensor through a
 * global pool and comes back as the gate of a Mul on that same tensor (MobileNetV3, EfficientNet).
 * For the zoo's plain CNNs this picks every ReLU, the global average pool and the logits.
 */
import type { LayerInfo } from '../../common/contract.js';
import type { OnnxGraph, OnnxNode } from './types.js';

const ACTIVATION_OPS = new Set([
  'Relu',
  'LeakyRelu',
  'PRelu',
  'Elu',
  'Selu',
  'Celu',
  'Gelu',
  'HardSwish',
  'Mish',
  'Softplus',
  'Softsign',
  'Tanh',
  'Clip',
  'ThresholdedRelu',
]);
const SUM_OPS = new Set(['Add', 'Sum']);
const GLOBAL_POOL_OPS = new Set(['GlobalAveragePool', 'GlobalMaxPool', 'ReduceMean', 'ReduceMax']);
const SPATIAL_OPS = new Set([
  'Conv',
  'ConvTranspose',
  'MaxPool',
  'AveragePool',
  'LpPool',
  'GlobalAveragePool',
  'GlobalMaxPool',
]);
/** How far back from a Mul's gate input we look for the global pool that starts an SE branch. */
const GATE_SEARCH_DEPTH = 8;

interface GraphIndex {
  producer: Map<string, OnnxNode>;
  consumers: Map<string, OnnxNode[]>;
}

function indexGraph(graph: OnnxGraph): GraphIndex {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of graph.node) {
    for (const out of node.output) if (out) producer.set(out, node);
    for (const input of node.input) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      list.push(node);
      consumers.set(input, list);
    }
  }
  return { producer, consumers };
}

/** Nodes on squeeze-and-excitation branches: pool(x) → … → gate, then Mul(x, gate). */
function gateBranchNodes(graph: OnnxGraph, index: GraphIndex): Set<OnnxNode> {
  const branch = new Set<OnnxNode>();
  for (const mul of graph.node) {
    if (mul.opType !== 'Mul' || mul.input.length !== 2) continue;
    for (const [gateInput, mainInput] of [
      [mul.input[1]!, mul.input[0]!],
      [mul.input[0]!, mul.input[1]!],
    ] as const) {
      const path: OnnxNode[] = [];
      let current = index.producer.get(gateInput);
      for (let depth = 0; current && depth < GATE_SEARCH_DEPTH; depth++) {
        path.push(current);
        if (GLOBAL_POOL_OPS.has(current.opType)) {
          if (current.input[0] === mainInput) for (const n of path) branch.add(n);
          break;
        }
        // Follow the first operand that another node computes (weights and constants are not nodes).
        const next = current.input.find((i) => index.producer.has(i));
        current = next === undefined ? undefined : index.producer.get(next);
      }
    }
  }
  return branch;
}

/** True if a Conv or pooling node can be reached from `tensor`. */
function spatialWorkFollows(tensor: string, index: GraphIndex): boolean {
  const seen = new Set<string>();
  const stack = [tensor];
  while (stack.length > 0) {
    const t = stack.pop()!;
    if (seen.has(t)) continue;
    seen.add(t);
    for (const node of index.consumers.get(t) ?? []) {
      if (SPATIAL_OPS.has(node.opType)) return true;
      for (const out of node.output) if (out) stack.push(out);
    }
  }
  return false;
}

export function blockOutputs(graph: OnnxGraph, layers: readonly LayerInfo[]): LayerInfo[] {
  const index = indexGraph(graph);
  const gates = gateBranchNodes(graph, index);
  const layerTensors = new Set(layers.map((l) => l.tensor));
  const isBlockOutput = (layer: LayerInfo): boolean => {
    if (layer.isGraphOutput) return true;
    const node = index.producer.get(layer.tensor);
    if (!node || gates.has(node)) return false;
    if (ACTIVATION_OPS.has(node.opType)) return true;
    if (SUM_OPS.has(node.opType)) {
      const computedOperands = node.input.filter((i) => layerTensors.has(i)).length;
      const consumers = index.consumers.get(layer.tensor) ?? [];
      const onlyActivations = consumers.length > 0 && consumers.every((c) => ACTIVATION_OPS.has(c.opType));
      return computedOperands >= 2 && !onlyActivations;
    }
    if (GLOBAL_POOL_OPS.has(node.opType)) return !spatialWorkFollows(layer.tensor, index);
    return false;
  };
  return layers.filter(isBlockOutput);
}
