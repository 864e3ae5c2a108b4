/**
 * Model graphs for the graph view's tests, made in Node: a ResNet-like chain of `count` nodes
 * (Conv, BatchNormalization, Relu, a residual Add every few nodes, reshapes) with its layer
 * catalogue, so the test knows every node and tensor it expects on screen.
 */
import type { LayerInfo, ModelGraph } from '../../../app/common/contract.js';

const CYCLE = ['Conv', 'BatchNormalization', 'Relu', 'Conv', 'BatchNormalization', 'Add', 'Relu'] as const;

export function syntheticGraph(count: number): { graph: ModelGraph; layers: LayerInfo[] } {
  const nodes: ModelGraph['nodes'] = [];
  const layers: LayerInfo[] = [];
  let previous = 'input';
  let blockInput = 'input';
  for (let i = 0; i < count; i++) {
    const op = i === count - 1 ? 'Gemm' : CYCLE[i % CYCLE.length]!;
    const block = Math.floor(i / CYCLE.length);
    const name = `/stage${Math.floor(block / 4) + 1}/block${block % 4}/${op.toLowerCase()}${i % CYCLE.length}`;
    const out = `${name}/${op}_output_0`;
    const inputs = op === 'Add' ? [previous, blockInput] : [previous];
    nodes.push({ index: i, name: `${name}/${op}`, op, inputs, outputs: [out], weights: op === 'Conv' ? 2 : 0 });
    layers.push({
      tensor: out,
      node: `${name}/${op}`,
      name: name.slice(1).replaceAll('/', '.'),
      op,
      dtype: 'float32',
      shape: op === 'Gemm' ? ['batch', 10] : ['batch', 16 * (1 + (block % 3)), 28, 28],
      index: i,
      isGraphOutput: i === count - 1,
    });
    if (op === 'Relu' && i % CYCLE.length === CYCLE.length - 1) blockInput = out;
    previous = out;
  }
  return {
    graph: {
      path: `/synthetic/graph-${count}.onnx`,
      sha256: 'f'.repeat(64),
      inputs: ['input'],
      outputs: [previous],
      nodes,
    },
    layers,
  };
}
