/**
 * A model's graph as the graph view draws it, following Netron: the graph's inputs on top, one box
 * per node (its op as a coloured header, the layer's short name, its output shape from the layer
 * catalogue), the outputs at the bottom, an edge per tensor that flows between them. Boxes are
 * sized from estimated text widths so the layout (elkjs, in a worker) knows them before drawing.
 * Pure: tested without a page.
 */
import type { LayerInfo, ModelGraph } from '@common/contract.js';
import { formatShape } from '@common/format.js';
import { shortenLabel, textWidth } from '@common/figures/text-extent.js';

export type BoxKind = 'node' | 'input' | 'output';

/** Netron-like colour families of ops. */
export type OpCategory = 'conv' | 'activation' | 'pool' | 'norm' | 'attention' | 'shape' | 'math' | 'io' | 'other';

export interface GraphBox {
  id: string;
  kind: BoxKind;
  category: OpCategory;
  /** The op (nodes), or "input"/"output". */
  title: string;
  /** The layer's short name (nodes with a layer), else the node or tensor name. */
  subtitle: string;
  /** The first output's shape, as the catalogue knows it. */
  shape: string | null;
  /** The layers this box produces (tensor names): what clicking it chooses. */
  tensors: string[];
  /** Everything the search looks in, lower case. */
  search: string;
  /** Node name, op, tensors: the box's tooltip. */
  detail: string;
  width: number;
  height: number;
}

export interface GraphEdge {
  id: string;
  source: string;
  target: string;
}

export const TITLE_FONT_PX = 11;
export const TEXT_FONT_PX = 10;
const PAD_X = 8;
const LINE_PX = 14;
const MAX_TEXT_CHARS = 34;
const MIN_BOX_WIDTH = 64;

const CATEGORIES: [OpCategory, RegExp][] = [
  ['conv', /^(Conv|ConvTranspose|ConvInteger|QLinearConv|Gemm|MatMul|MatMulInteger|QLinearMatMul|Einsum)$/],
  [
    'activation',
    /^(Relu|LeakyRelu|PRelu|Sigmoid|Tanh|Gelu|Elu|Selu|Celu|Softplus|Softsign|HardSigmoid|HardSwish|Mish|Clip|ThresholdedRelu|Softmax|LogSoftmax)$/,
  ],
  ['pool', /Pool$|^(Upsample|Resize)$/],
  ['norm', /Normalization$|^(LRN|Dropout)$/],
  ['attention', /Attention/],
  [
    'shape',
    /^(Reshape|Flatten|Squeeze|Unsqueeze|Transpose|Concat|Split|Slice|Gather|GatherElements|GatherND|Shape|Expand|Tile|Pad|Cast|Identity|Range|ConstantOfShape|Size|Where)$/,
  ],
  [
    'math',
    /^(Add|Sub|Mul|Div|Pow|Sqrt|Exp|Log|Neg|Abs|Reciprocal|ReduceMean|ReduceSum|ReduceMax|ReduceMin|ReduceL2|Sum|Mean|Max|Min|Erf|Equal|Less|Greater|Not|And|Or)$/,
  ],
];

export function opCategory(op: string): OpCategory {
  for (const [category, pattern] of CATEGORIES) if (pattern.test(op)) return category;
  return 'other';
}

/** Monospace advance (shapes are drawn in the monospace font), as a fraction of the size, rounded up. */
const MONO_EM = 0.62;

function boxSize(title: string, name: string, shape: string | null): { width: number; height: number } {
  const widest = Math.max(
    textWidth(title, TITLE_FONT_PX, true),
    textWidth(name, TEXT_FONT_PX),
    shape === null ? 0 : [...shape].length * MONO_EM * TEXT_FONT_PX,
  );
  return {
    width: Math.max(MIN_BOX_WIDTH, Math.ceil(widest + 2 * PAD_X)),
    height: LINE_PX + 6 + (shape === null ? 1 : 2) * LINE_PX + 4,
  };
}

/** The boxes and edges of `graph`, named and shaped from the model's layer catalogue. */
export function graphModel(graph: ModelGraph, layers: readonly LayerInfo[]): { boxes: GraphBox[]; edges: GraphEdge[] } {
  const layerOf = new Map(layers.map((l) => [l.tensor, l]));
  const boxes: GraphBox[] = [];
  const producer = new Map<string, string>();

  const ioBox = (kind: 'input' | 'output', tensor: string, i: number): GraphBox => {
    const subtitle = shortenLabel(tensor, MAX_TEXT_CHARS);
    const layer = layerOf.get(tensor);
    const shape = layer?.shape ? formatShape(layer.shape) : null;
    return {
      id: `${kind === 'input' ? 'in' : 'out'}${i}`,
      kind,
      category: 'io',
      title: kind,
      subtitle,
      shape,
      tensors: [],
      search: `${kind} ${tensor}`.toLowerCase(),
      detail: `graph ${kind} ${tensor}`,
      ...boxSize(kind, subtitle, shape),
    };
  };

  graph.inputs.forEach((tensor, i) => {
    const box = ioBox('input', tensor, i);
    boxes.push(box);
    producer.set(tensor, box.id);
  });
  for (const node of graph.nodes) {
    const id = `n${node.index}`;
    const own = node.outputs.map((t) => layerOf.get(t)).filter((l): l is LayerInfo => l !== undefined);
    const subtitle = shortenLabel(own[0]?.name ?? node.name, MAX_TEXT_CHARS);
    const shape = own[0]?.shape ? formatShape(own[0].shape) : null;
    boxes.push({
      id,
      kind: 'node',
      category: opCategory(node.op),
      title: node.op,
      subtitle,
      shape,
      tensors: own.map((l) => l.tensor),
      search: [node.op, node.name, ...own.map((l) => l.name), ...node.outputs].join(' ').toLowerCase(),
      detail: [
        `${node.op} · ${node.name}`,
        ...own.map((l) => `${l.name} ${formatShape(l.shape)}`),
        node.weights > 0 ? `${node.weights} weight tensor${node.weights === 1 ? '' : 's'}` : '',
      ]
        .filter(Boolean)
        .join('\n'),
      ...boxSize(node.op, subtitle, shape),
    });
    for (const t of node.outputs) producer.set(t, id);
  }

  const edges: GraphEdge[] = [];
  const seen = new Set<string>();
  const connect = (source: string | undefined, target: string) => {
    if (source === undefined || source === target) return;
    const id = `${source}>${target}`;
    if (seen.has(id)) return;
    seen.add(id);
    edges.push({ id, source, target });
  };
  for (const node of graph.nodes) for (const t of node.inputs) connect(producer.get(t), `n${node.index}`);
  graph.outputs.forEach((tensor, i) => {
    const box = ioBox('output', tensor, i);
    boxes.push(box);
    connect(producer.get(tensor), box.id);
  });
  return { boxes, edges };
}

/** Indices of the boxes whose text holds every word of `query` (case-insensitive). */
export function searchBoxes(boxes: readonly GraphBox[], query: string): number[] {
  const words = query.trim().toLowerCase().split(/\s+/).filter(Boolean);
  if (words.length === 0) return [];
  const out: number[] = [];
  boxes.forEach((box, i) => {
    if (words.every((w) => box.search.includes(w))) out.push(i);
  });
  return out;
}
