import { beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import type { LayerInfo } from '../../app/common/contract.js';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { parseSelection, selectionString } from '../../renderer/src/lib/layer-selection.js';
import { fixturesDir } from '../helpers/paths.js';

let layers: LayerInfo[];
const tensorsOf = (op: string) => layers.filter((l) => l.op === op).map((l) => l.tensor);

beforeAll(async () => {
  layers = (await inspectModelFile(join(fixturesDir, 'models/resnet18_narrow.onnx'))).layers;
});

describe('layer selection strings (real model catalogue)', () => {
  it('writes all, op lists and tensor names, shortest first', () => {
    const ops = [...new Set(layers.map((l) => l.op))];
    expect(ops).toEqual(expect.arrayContaining(['Conv', 'Relu', 'Add']));
    expect(selectionString(layers, new Set(layers.map((l) => l.tensor)))).toBe('all');
    expect(selectionString(layers, new Set())).toBe('');
    expect(selectionString(layers, new Set(tensorsOf('Relu')))).toBe('op:Relu');
    // Every Conv and every Add: both op types, in order of first appearance in the graph.
    const convAdd = new Set([...tensorsOf('Add'), ...tensorsOf('Conv')]);
    expect(selectionString(layers, convAdd)).toBe('op:Conv,Add');
    // All Relu layers but one: names, in graph order whatever the order of choosing.
    const someRelu = tensorsOf('Relu').slice(1).reverse();
    expect(selectionString(layers, new Set(someRelu))).toBe(tensorsOf('Relu').slice(1).join(','));
  });

  it('reads back what it writes', () => {
    for (const chosen of [
      tensorsOf('Relu'),
      [...tensorsOf('Conv'), ...tensorsOf('Add')],
      tensorsOf('Relu').slice(2, 5),
    ]) {
      const spec = selectionString(layers, new Set(chosen));
      expect([...parseSelection(spec, layers).tensors].sort()).toEqual([...chosen].sort());
    }
  });

  it('accepts short names, node names and op names in any case, and reports what it cannot find', () => {
    const [first, second] = layers;
    const parsed = parseSelection(`${first!.name}, ${second!.node}, no_such_layer`, layers);
    expect([...parsed.tensors]).toEqual([first!.tensor, second!.tensor]);
    expect(parsed.unknown).toEqual(['no_such_layer']);
    expect([...parseSelection('op:relu', layers).tensors]).toEqual(tensorsOf('Relu'));
    expect(parseSelection('op:Relu,LSTM', layers).unknown).toEqual(['op:LSTM']);
    expect(parseSelection('preset:blocks', layers)).toMatchObject({ preset: 'blocks', unknown: [] });
  });

  it('takes a tensor name containing a comma as one name', () => {
    const odd: LayerInfo[] = [
      { ...layers[0]!, tensor: 'a,b', name: 'ab', node: 'n1' },
      { ...layers[1]!, tensor: 'c', name: 'c', node: 'n2' },
    ];
    expect([...parseSelection('a,b', odd).tensors]).toEqual(['a,b']);
  });
});
