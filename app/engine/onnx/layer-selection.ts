/**
 * Layer selections, one syntax for the CLI, the API and experiment specs:
 *
 *   all                  every layer of the catalogue
 *   op:Relu              layers produced by one op type; `op:Conv,Gemm` for several
 *   preset:blocks        block outputs (see ./block-outputs.ts)
 *   a,b,c                tensor names (the ids), short layer names or node names
 *
 * The result is always in the graph's topological order, without duplicates. Names that are not
 * layers get an error that says what they are instead (a graph input, an initializer, an integer
 * tensor) or lists the closest layer names.
 */
import type { LayerInfo } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { blockOutputs } from './block-outputs.js';
import type { OnnxGraph } from './types.js';
import { LAYER_PRESETS } from '../../common/layer-selections.js';

export interface SelectionContext {
  /** The model's layer catalogue, in topological order. */
  layers: readonly LayerInfo[];
  graph: OnnxGraph;
  /** Names the model in error messages. */
  source: string;
  /** Element types of non-layer tensors, to explain why a name is not a layer. */
  dtypeOf?: (tensor: string) => string | undefined;
}

export function selectLayers(selection: string, context: SelectionContext): LayerInfo[] {
  const text = selection.trim();
  if (text === '')
    throw new WorkbenchError('BAD_INPUT', 'empty layer selection (use all, op:TYPE, preset:NAME or tensor names)');
  const { layers, source } = context;
  let chosen: LayerInfo[];
  if (text === 'all') {
    chosen = [...layers];
  } else if (text.startsWith('op:')) {
    chosen = selectByOp(text.slice(3), layers, source);
  } else if (text.startsWith('preset:')) {
    const preset = text.slice('preset:'.length).trim();
    if (!(preset in LAYER_PRESETS)) {
      const known = Object.keys(LAYER_PRESETS).map((p) => `preset:${p}`);
      throw new WorkbenchError('BAD_INPUT', `unknown layer preset '${preset}' (known: ${known.join(', ')})`);
    }
    chosen = blockOutputs(context.graph, layers);
  } else {
    chosen = selectByName(text, context);
  }
  if (chosen.length === 0) throw new WorkbenchError('BAD_INPUT', `${source}: the selection '${text}' matches no layer`);
  const unique = [...new Map(chosen.map((l) => [l.tensor, l])).values()];
  return unique.sort((a, b) => a.index - b.index || layers.indexOf(a) - layers.indexOf(b));
}

function selectByOp(list: string, layers: readonly LayerInfo[], source: string): LayerInfo[] {
  const wanted = list
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (wanted.length === 0) throw new WorkbenchError('BAD_INPUT', `op: needs an op type, e.g. op:Relu or op:Conv,Gemm`);
  const present = [...new Set(layers.map((l) => l.op))];
  const chosen: LayerInfo[] = [];
  for (const op of wanted) {
    const match = layers.filter((l) => l.op.toLowerCase() === op.toLowerCase());
    if (match.length === 0) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${source}: no layer has op '${op}' (ops with layers: ${present.join(', ')})`,
      );
    }
    chosen.push(...match);
  }
  return chosen;
}

function selectByName(text: string, context: SelectionContext): LayerInfo[] {
  const { layers } = context;
  // A tensor name may itself contain commas: take the whole text when it names a layer.
  const whole = findLayer(text, layers);
  if (whole) return [whole];
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return names.map((name) => findLayer(name, layers) ?? notALayer(name, context));
}

function findLayer(name: string, layers: readonly LayerInfo[]): LayerInfo | undefined {
  return (
    layers.find((l) => l.tensor === name) ?? layers.find((l) => l.name === name) ?? layers.find((l) => l.node === name)
  );
}

function notALayer(name: string, context: SelectionContext): never {
  const { graph, source } = context;
  if (graph.initializer.some((t) => t.name === name)) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${source}: '${name}' is an initializer (a stored weight), not a layer output`,
    );
  }
  if (graph.input.some((v) => v.name === name)) {
    throw new WorkbenchError('BAD_INPUT', `${source}: '${name}' is a graph input, not a layer output`);
  }
  if (graph.node.some((n) => n.output.includes(name))) {
    const dtype = context.dtypeOf?.(name);
    const why =
      dtype && dtype !== 'unknown' && !dtype.startsWith('float') && dtype !== 'bfloat16'
        ? `it is a ${dtype} tensor, and only float tensors are representations`
        : 'it does not depend on the input or is not split per example';
    throw new WorkbenchError('BAD_INPUT', `${source}: tensor '${name}' is not a layer that can be extracted (${why})`);
  }
  const close = closestNames(name, context.layers);
  const hint = close.length > 0 ? `; close matches: ${close.join(', ')}` : '';
  throw new WorkbenchError('BAD_INPUT', `${source}: no layer or tensor named '${name}'${hint}`);
}

/** Up to three layer names (short or tensor) nearest to `name` by edit distance. */
export function closestNames(name: string, layers: readonly LayerInfo[]): string[] {
  const scored: { label: string; distance: number }[] = [];
  for (const layer of layers) {
    const distance = Math.min(editDistance(name, layer.name), editDistance(name, layer.tensor));
    scored.push({ label: layer.name === layer.tensor ? layer.name : `${layer.name} (${layer.tensor})`, distance });
  }
  const limit = Math.max(3, Math.ceil(name.length / 2));
  return scored
    .filter((s) => s.distance <= limit)
    .sort((a, b) => a.distance - b.distance)
    .slice(0, 3)
    .map((s) => s.label);
}

function editDistance(a: string, b: string): number {
  const previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = previous[0]!;
    previous[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = previous[j]!;
      previous[j] = Math.min(above + 1, previous[j - 1]! + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return previous[b.length]!;
}
