/**
 * Short layer names for people, from node names as exporters write them.
 * PyTorch: `/layer1/layer1.0/relu/Relu` → `layer1.0.relu` (module path, without the op and without
 * a parent segment that the next segment repeats). Arithmetic written inside a module's forward
 * (`x + f(x)`) has no module of its own, so it keeps its op: the residual sums of a Transformer
 * block are `/blocks.0/Add` → `blocks.0.add` and `/blocks.0/Add_1` → `blocks.0.add_1`, not
 * `blocks.0` and `blocks.0_1`. Names stay unique within a model.
 */

/** Ops that are the arithmetic of a module's forward, not a module of their own. */
const INLINE_OPS = new Set(['add', 'sub', 'mul', 'div']);

function dropOpSegment(segments: string[], op: string): { rest: string[]; suffix: string } {
  const last = segments[segments.length - 1];
  if (last === undefined) return { rest: segments, suffix: '' };
  // `Relu`, `Relu_1` (a module called twice) → dropped, keeping the call index.
  const match = /^(.*?)(?:_(\d+))?$/.exec(last);
  if (match && match[1]!.toLowerCase() === op.toLowerCase()) {
    return { rest: segments.slice(0, -1), suffix: match[2] ? `_${match[2]}` : '' };
  }
  return { rest: segments, suffix: '' };
}

/**
 * The short name for one node (not yet made unique). `inlineOp`: name arithmetic by its op within
 * its module (`blocks.0.add`) — for a module that holds other layers too; a module whose only work
 * is that op (`/scaled/Mul`) is named by the module alone.
 */
export function shortLayerName(nodeName: string, op: string, fallbackTensor: string, inlineOp = false): string {
  const raw = nodeName || fallbackTensor;
  const segments = raw.split('/').filter((s) => s.length > 0);
  if (segments.length <= 1 && !raw.startsWith('/')) {
    // Not a path (tf2onnx, hand-made graphs): keep the name as written.
    return raw.length > 0 ? raw : op;
  }
  const { rest, suffix } = dropOpSegment(segments, op);
  const kept = rest.filter((seg, i) => {
    const next = rest[i + 1];
    return next === undefined || !next.startsWith(`${seg}.`);
  });
  const inline = inlineOp && isInlineOp(op) && rest.length < segments.length;
  if (inline && kept.length > 0 && kept[kept.length - 1]!.toLowerCase() !== op.toLowerCase()) {
    return `${kept.join('.')}.${op.toLowerCase()}${suffix}`;
  }
  let name = kept.join('.');
  const lastKept = kept[kept.length - 1];
  if (name.length === 0 || (lastKept !== undefined && /^\d+$/.test(lastKept))) {
    // `/0/Conv` (an nn.Sequential index) says little on its own: keep the op.
    name = name.length === 0 ? op : `${name}.${op}`;
  }
  return name + suffix;
}

export function isInlineOp(op: string): boolean {
  return INLINE_OPS.has(op.toLowerCase());
}

/**
 * Short names of nodes in graph order: arithmetic inside a module that holds other layers keeps
 * its op (see {@link shortLayerName}).
 */
export function shortLayerNames(nodes: readonly { name: string; op: string; tensor: string }[]): string[] {
  const plain = nodes.map((n) => shortLayerName(n.name, n.op, n.tensor));
  // The module a node's name stands for: its plain name without the call index (`blocks.0_1` → `blocks.0`).
  const modules = nodes.map((n, i) => plain[i]!.replace(/_\d+$/, ''));
  const counts = new Map<string, number>();
  for (const m of modules) counts.set(m, (counts.get(m) ?? 0) + 1);
  return nodes.map((n, i) => {
    const name = plain[i]!;
    if (!isInlineOp(n.op)) return name;
    const module = modules[i]!;
    const shared = (counts.get(module) ?? 0) > 1 || plain.some((other) => other.startsWith(`${module}.`));
    return shared ? shortLayerName(n.name, n.op, n.tensor, true) : name;
  });
}

/** Makes names unique in order of appearance: the second `relu` becomes `relu#2`. */
export function uniqueNames(names: string[]): string[] {
  const seen = new Map<string, number>();
  const taken = new Set(names);
  return names.map((name) => {
    const count = (seen.get(name) ?? 0) + 1;
    seen.set(name, count);
    if (count === 1) return name;
    let k = count;
    while (taken.has(`${name}#${k}`)) k++;
    taken.add(`${name}#${k}`);
    return `${name}#${k}`;
  });
}
