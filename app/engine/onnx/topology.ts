/**
 * Graph order: ONNX requires nodes to be topologically sorted, but not every exporter obeys.
 * We sort (stable: ties keep file order) and report cycles or missing inputs as BAD_MODEL.
 */
import { WorkbenchError } from '../../common/errors.js';
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
  // Ready nodes in a min-heap of file indices: the earliest ready node goes next, as a sorted list
  // would give, in O(n log n). (Sorting the list on every step was quadratic: a 700 KB file of
  // 20,000 independent nodes held the host's event loop for 10 s.)
  const ready = new MinHeap();
  pending.forEach((count, i) => count === 0 && ready.push(i));
  const order: OrderedNode[] = [];
  while (ready.size > 0) {
    const i = ready.pop();
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

/** A binary min-heap of non-negative integers. */
class MinHeap {
  private readonly items: number[] = [];

  get size(): number {
    return this.items.length;
  }

  push(value: number): void {
    const items = this.items;
    let i = items.length;
    items.push(value);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (items[parent]! <= value) break;
      items[i] = items[parent]!;
      i = parent;
    }
    items[i] = value;
  }

  /** Removes and returns the smallest value (the heap must not be empty). */
  pop(): number {
    const items = this.items;
    const top = items[0]!;
    const last = items.pop()!;
    if (items.length > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= items.length) break;
        const right = left + 1;
        const child = right < items.length && items[right]! < items[left]! ? right : left;
        if (items[child]! >= last) break;
        items[i] = items[child]!;
        i = child;
      }
      items[i] = last;
    }
    return top;
  }
}
