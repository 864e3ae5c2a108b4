/**
 * The model graph the graph view draws: nodes, their inputs and outputs, graph inputs and
 * outputs, Constants and weights folded — as python onnx reads the same files
 * (fixtures/make_graph_fixtures.py); and the boxes and edges the view makes of it, named and
 * shaped from the layer catalogue.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ModelGraph } from '../../app/common/contract.js';
import { modelGraph } from '../../app/engine/onnx/graph.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { graphModel, opCategory, searchBoxes } from '../../renderer/src/charts/graph-model.js';
import { fixturesDir } from '../helpers/paths.js';

const expected = JSON.parse(readFileSync(join(fixturesDir, 'models/graphs.expected.json'), 'utf8')) as Record<
  string,
  Omit<ModelGraph, 'path' | 'sha256'>
>;

async function graphOf(name: string): Promise<ModelGraph> {
  const { model, facts } = await loadModel(join(fixturesDir, `models/${name}.onnx`));
  return modelGraph(model, facts);
}

describe('modelGraph', () => {
  it.each(Object.keys(expected))('%s: the nodes python onnx reads, Constants folded into weights', async (name) => {
    const graph = await graphOf(name);
    expect({ inputs: graph.inputs, outputs: graph.outputs, nodes: graph.nodes }).toEqual(expected[name]);
    expect(graph.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it('numbers nodes as the layer catalogue does, so a layer finds its node', async () => {
    const path = join(fixturesDir, 'models/resnet18_narrow.onnx');
    const graph = await graphOf('resnet18_narrow');
    const summary = await inspectModelFile(path, { runner: null });
    const byIndex = new Map(graph.nodes.map((n) => [n.index, n]));
    for (const layer of summary.layers) {
      const node = byIndex.get(layer.index)!;
      expect(node.outputs).toContain(layer.tensor);
      expect(node.name).toBe(layer.node);
    }
  });
});

describe('graph view model', () => {
  it('makes a box per node and graph input/output, an edge per producer → consumer, named from the catalogue', async () => {
    const path = join(fixturesDir, 'models/tiny_cnn.onnx');
    const graph = await graphOf('tiny_cnn');
    // Shapes as the app has them: from onnxruntime (in a runner process).
    const { layers } = await inspectModelFile(path);
    const { boxes, edges } = graphModel(graph, layers);
    expect(boxes.map((b) => b.kind)).toEqual(['input', ...graph.nodes.map(() => 'node'), 'output']);
    const relu = boxes.find((b) => b.title === 'Relu')!;
    const layer = layers.find((l) => l.tensor === relu.tensors[0])!;
    expect(relu).toMatchObject({ subtitle: layer.name, shape: '[batch, 4, 28, 28]', category: 'activation' });
    // A chain: input → 8 nodes → output.
    expect(edges).toHaveLength(graph.nodes.length + 1);
    expect(edges[0]).toMatchObject({ source: 'in0', target: `n${graph.nodes[0]!.index}` });
    expect(edges.at(-1)).toMatchObject({ target: 'out0' });
    for (const box of boxes) expect(box.width).toBeGreaterThanOrEqual(64);
  });

  it('finds nodes by op, layer name or tensor, every word', async () => {
    const path = join(fixturesDir, 'models/resnet18_narrow.onnx');
    const { layers } = await inspectModelFile(path, { runner: null });
    const { boxes } = graphModel(await graphOf('resnet18_narrow'), layers);
    const relus = searchBoxes(boxes, 'relu').map((i) => boxes[i]!.title);
    expect(new Set(relus)).toEqual(new Set(['Relu']));
    expect(searchBoxes(boxes, 'layer2 relu').length).toBeGreaterThan(0);
    expect(searchBoxes(boxes, 'layer2 relu').length).toBeLessThan(relus.length);
    expect(searchBoxes(boxes, '   ')).toEqual([]);
    expect(opCategory('Conv')).toBe('conv');
    expect(opCategory('MultiHeadAttention')).toBe('attention');
  });
});
