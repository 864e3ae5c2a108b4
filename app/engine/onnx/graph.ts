/**
 * A model's top-level graph for drawing: nodes in topological order (the order the layer
 * catalogue numbers them in), each with the tensors it reads from other nodes or graph inputs
 * and the tensors it produces. Weights and Constant nodes are folded into a count, as Netron
 * shows them inside the node that reads them; subgraphs (If, Loop) stay inside their node.
 */
import type { GraphNode, ModelGraph } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { topologicalOrder } from './topology.js';
import type { OnnxModel } from './types.js';

/** More nodes than anyone can read in one drawing (and than a page can lay out in reasonable time). */
export const MAX_GRAPH_NODES = 50_000;

export function modelGraph(model: OnnxModel, facts: { path: string; sha256: string }): ModelGraph {
  const graph = model.graph;
  if (!graph) throw new WorkbenchError('BAD_MODEL', `${facts.path}: the model has no graph`);
  if (graph.node.length > MAX_GRAPH_NODES) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${facts.path}: ${graph.node.length} nodes are more than the graph view draws (${MAX_GRAPH_NODES}); use the layer table`,
    );
  }
  const weights = new Set<string>(graph.initializer.map((t) => t.name));
  for (const s of graph.sparseInitializer) if (s.values) weights.add(s.values.name);
  const constant = (op: string, domain: string) => op === 'Constant' && (domain === '' || domain === 'ai.onnx');
  for (const node of graph.node) if (constant(node.opType, node.domain)) node.output.forEach((t) => weights.add(t));

  const nodes: GraphNode[] = [];
  topologicalOrder(graph, facts.path).forEach(({ node, fileIndex }, index) => {
    if (constant(node.opType, node.domain)) return;
    const inputs = node.input.filter((t) => t !== '');
    nodes.push({
      index,
      name: node.name || `${node.opType}_${fileIndex}`,
      op: node.opType,
      inputs: inputs.filter((t) => !weights.has(t)),
      outputs: node.output.filter((t) => t !== ''),
      weights: inputs.filter((t) => weights.has(t)).length,
    });
  });
  return {
    path: facts.path,
    sha256: facts.sha256,
    inputs: graph.input.map((v) => v.name).filter((name) => !weights.has(name)),
    outputs: graph.output.map((v) => v.name),
    nodes,
  };
}
