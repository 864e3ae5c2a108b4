/**
 * Graph order: ONNX requires nodes to be topologically sorted, but not every exporter obeys.
 * We sort (stable: ties keep file order) and report cycles or missing inputs as BAD_MODEL.
 */
import { WorkbenchError } from '../../api/errors.js';
import type { OnnxGraph, OnnxNode } from './types.js';

export interface OrderedNode {
  node: OnnxNode;
  /** Index in the file's node list. */
  fileIndex: number;
}

export function topologicalOrder(graph: OnnxGraph, source: string): OrderedNode[] {
  const nodes = graph.node;
  const available = new Set<string>(['']); // '' marks an omitted optional input
  for (const v of graph.input) available.add(v.name);
  for (const t of graph.initializer) available.add(t.name);
  for (const s of graph.sparseInitializer) if (s.values) available.add(s.values.name);

  const producer = new Map<string, number>();
  nodes.forEach((node, i) => node.output.forEach((out) => out && producer.set(out, i)));

  // Kahn's algorithm over producer→consumer edges; inputs not produced by a node must be available.
  const pending = new Array<number>(nodes.length).fill(0);
  const consumers: number[][] = nodes.map(() => []);
  nodes.forEach((node, i) => {
    const seen = new Set<number>();
    for (const input of node.input) {
      if (available.has(input)) continue;
      const p = producer.get(input);
      if (p === undefined) {
        // Outer-scope names are only legal inside subgraphs; at the top level this is a broken graph.
        throw new WorkbenchError(
          'BAD_MODEL',
          `${source}: node '${node.name || node.opType}' reads tensor '${input}', which no node, input or initializer provides`,
        );
      }
      if (!seen.has(p)) {
        seen.add(p);
        pending[i]!++;
        consumers[p]!.push(i);
      }
    }
  });
  const ready: number[] = [];
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const order: OrderedNode[] = [];
  // A min-heap would be O(n log n); graphs are small enough that keeping `ready` sorted is fine.
  while (ready.length > 0) {
    ready.sort((a, b) => a - b);
    const i = ready.shift()!;
    order.push({ node: nodes[i]!, fileIndex: i });
    for (const c of consumers[i]!) if (--pending[c]! === 0) ready.push(c);
  }
  if (order.length < nodes.length) {
    const stuck = nodes.findIndex((_, i) => pending[i]! > 0);
    const name = nodes[stuck]?.name || nodes[stuck]?.opType || '?';
    throw new WorkbenchError('BAD_MODEL', `${source}: the graph has a cycle (through node '${name}')`);
  }
  return order;
}
