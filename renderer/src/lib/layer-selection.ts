/**
 * Layer selections as experiment specs and the CLI write them (`ExperimentSpec.layers`, the
 * engine's app/engine/onnx/layer-selection.ts): `all`, `op:Relu` or `op:Conv,Gemm` (every layer of
 * those op types), `preset:NAME` (resolved by the engine), or layer names separated by commas —
 * tensor names, short names or node names. The layer table edits a selection through these two
 * functions, so what it shows is what a run gets.
 */
import type { LayerInfo } from '@common/contract.js';

/**
 * The shortest spec for a set of tensors: `all`, `op:…` when the set is exactly every layer of some
 * op types, otherwise the tensor names in graph order. Empty for no layers.
 */
export function selectionString(layers: readonly LayerInfo[], chosen: ReadonlySet<string>): string {
  const picked = layers.filter((l) => chosen.has(l.tensor));
  if (picked.length === 0) return '';
  if (picked.length === layers.length) return 'all';
  const ops = [...new Set(picked.map((l) => l.op))];
  const everyLayerOfOps = layers.filter((l) => ops.includes(l.op)).length === picked.length;
  if (everyLayerOfOps) return `op:${ops.join(',')}`;
  return picked.map((l) => l.tensor).join(',');
}

export interface ParsedSelection {
  tensors: Set<string>;
  /** Parts that name no layer of this model (typos, other models' names). */
  unknown: string[];
  /** A preset only the engine can resolve (the table then shows no ticks, and says so). */
  preset: string | null;
}

export function parseSelection(selection: string, layers: readonly LayerInfo[]): ParsedSelection {
  const text = selection.trim();
  const none: ParsedSelection = { tensors: new Set(), unknown: [], preset: null };
  if (text === '') return none;
  if (text === 'all') return { ...none, tensors: new Set(layers.map((l) => l.tensor)) };
  if (text.startsWith('preset:')) return { ...none, preset: text.slice('preset:'.length).trim() };
  if (text.startsWith('op:')) {
    const tensors = new Set<string>();
    const unknown: string[] = [];
    for (const op of splitList(text.slice(3))) {
      const match = layers.filter((l) => l.op.toLowerCase() === op.toLowerCase());
      if (match.length === 0) unknown.push(`op:${op}`);
      for (const l of match) tensors.add(l.tensor);
    }
    return { ...none, tensors, unknown };
  }
  // A tensor name may itself contain commas: the whole text naming a layer wins.
  const whole = findLayer(text, layers);
  if (whole) return { ...none, tensors: new Set([whole.tensor]) };
  const tensors = new Set<string>();
  const unknown: string[] = [];
  for (const name of splitList(text)) {
    const layer = findLayer(name, layers);
    if (layer) tensors.add(layer.tensor);
    else unknown.push(name);
  }
  return { ...none, tensors, unknown };
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

function findLayer(name: string, layers: readonly LayerInfo[]): LayerInfo | undefined {
  return (
    layers.find((l) => l.tensor === name) ?? layers.find((l) => l.name === name) ?? layers.find((l) => l.node === name)
  );
}
