import { describe, expect, it } from 'vitest';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspectModelFile } from '../../app/engine/runner/inspect-model.js';
import { shortLayerName, shortLayerNames, uniqueNames } from '../../app/engine/onnx/layer-names.js';
import { decodeModel, encodeModel } from '../../app/engine/onnx/codec.js';

const fixtures = new URL('../fixtures/models/', import.meta.url).pathname;

interface Expected {
  irVersion: number;
  opset: number;
  producer: { name: string; version: string };
  inputs: { name: string; shape: (number | string)[] }[];
  outputs: { name: string; shape: (number | string)[] }[];
  parameters: number;
  layers: { tensor: string; node: string; op: string; isGraphOutput: boolean }[];
}

describe('inspect', () => {
  // The expected facts come from the python `onnx` package reading the same file.
  const expected = JSON.parse(readFileSync(join(fixtures, 'tiny_cnn.expected.json'), 'utf8')) as Expected;
  const path = join(fixtures, 'tiny_cnn.onnx');

  it('reports what the onnx package reports', async () => {
    const s = await inspectModelFile(path);
    expect(s.irVersion).toBe(expected.irVersion);
    expect(s.opset).toBe(expected.opset);
    expect(s.producer).toEqual(expected.producer);
    expect(s.inputs.map((i) => ({ name: i.name, shape: i.shape }))).toEqual(expected.inputs);
    expect(s.outputs.map((o) => ({ name: o.name, shape: o.shape }))).toEqual(expected.outputs);
    expect(s.parameters).toBe(expected.parameters);
    expect(s.layers.map(({ tensor, node, op, isGraphOutput }) => ({ tensor, node, op, isGraphOutput }))).toEqual(
      expected.layers.map(({ tensor, node, op, isGraphOutput }) => ({ tensor, node, op, isGraphOutput })),
    );
    expect(s.sha256).toBe(createHash('sha256').update(readFileSync(path)).digest('hex'));
    expect(s.layers.map((l) => l.name)).toEqual([
      'stage1.conv',
      'stage1.relu',
      'pool',
      'stage2.conv',
      'stage2.relu',
      'gap',
      'flatten',
      'head',
    ]);
  });

  it('orders layers topologically even when the file does not', async () => {
    const model = decodeModel(readFileSync(path), 'tiny');
    model.graph!.node.reverse();
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    const shuffled = join(dir, 'reversed.onnx');
    writeFileSync(shuffled, encodeModel(model));
    const s = await inspectModelFile(shuffled);
    expect(s.layers.map((l) => l.tensor)).toEqual(expected.layers.map((l) => l.tensor));
  });

  it('reports a cycle and a dangling input as BAD_MODEL naming the file', async () => {
    const model = decodeModel(readFileSync(path), 'tiny');
    const nodes = model.graph!.node;
    nodes[0]!.input[0] = nodes[1]!.output[0]!; // conv reads the relu after it
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    const cyclic = join(dir, 'cyclic.onnx');
    writeFileSync(cyclic, encodeModel(model));
    await expect(inspectModelFile(cyclic)).rejects.toThrow(`${cyclic}: the graph has a cycle`);
    nodes[0]!.input[0] = 'nowhere';
    writeFileSync(cyclic, encodeModel(model));
    await expect(inspectModelFile(cyclic)).rejects.toThrow(/reads tensor 'nowhere', which no node/);
  });

  it('gives NOT_FOUND and BAD_MODEL errors with the path', async () => {
    await expect(inspectModelFile('/no/such/model.onnx')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: '/no/such/model.onnx: no such file',
    });
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    const text = join(dir, 'notes.onnx');
    writeFileSync(text, 'just some text, definitely not protobuf\n');
    await expect(inspectModelFile(text)).rejects.toMatchObject({ code: 'BAD_MODEL' });
  });
});

describe('layer names', () => {
  it.each([
    ['/layer1/layer1.0/relu/Relu', 'Relu', 'layer1.0.relu'],
    ['/layer1/layer1.0/relu_1/Relu', 'Relu', 'layer1.0.relu_1'],
    ['/features/features.3/Conv', 'Conv', 'features.3'],
    ['/stage1/block0/relu/Relu_1', 'Relu', 'stage1.block0.relu_1'],
    ['/0/Conv', 'Conv', '0.Conv'],
    ['/Add', 'Add', 'Add'],
    ['/blocks.0/Add', 'Add', 'blocks.0.add'],
    ['/blocks.0/Add_1', 'Add', 'blocks.0.add_1'],
    ['/layer1/layer1.0/Add', 'Add', 'layer1.0.add'],
    ['/blocks.0/mlp/act/Mul_1', 'Mul', 'blocks.0.mlp.act.mul_1'],
    ['/res/add/Add', 'Add', 'res.add'],
    ['/blocks/blocks.0/attn/Softmax', 'Softmax', 'blocks.0.attn'],
    ['StatefulPartitionedCall/model/conv2d/Relu', 'Relu', 'StatefulPartitionedCall.model.conv2d'],
    ['conv1', 'Conv', 'conv1'],
    ['', 'Relu', 'out_7'],
  ])('%s (%s) → %s', (node, op, want) => {
    expect(shortLayerName(node, op, 'out_7', true)).toBe(want);
  });

  it('names arithmetic by its op only inside a module that holds other layers', () => {
    const names = shortLayerNames([
      { name: '/blocks.0/attn/Softmax', op: 'Softmax', tensor: 't1' },
      { name: '/blocks.0/Add', op: 'Add', tensor: 't2' },
      { name: '/blocks.0/Add_1', op: 'Add', tensor: 't3' },
      { name: '/scaled/Mul', op: 'Mul', tensor: 't4' },
      { name: '/ones/Add', op: 'Add', tensor: 't5' },
    ]);
    expect(names).toEqual(['blocks.0.attn', 'blocks.0.add', 'blocks.0.add_1', 'scaled', 'ones']);
  });

  it('keeps names unique in order', () => {
    expect(uniqueNames(['a', 'b', 'a', 'a', 'a#2'])).toEqual(['a', 'b', 'a#3', 'a#4', 'a#2']);
  });
});

describe('inspect with shapes from onnxruntime (runner process)', () => {
  const expected = JSON.parse(readFileSync(join(fixtures, 'tiny_cnn.expected.json'), 'utf8')) as {
    layers: { tensor: string; shape: (number | string)[] }[];
  };
  const path = join(fixtures, 'tiny_cnn.onnx');

  it('reports every layer shape python onnx shape inference gives', async () => {
    const s = await inspectModelFile(path);
    expect(s.layers.map((l) => ({ tensor: l.tensor, shape: l.shape }))).toEqual(
      expected.layers.map((l) => ({ tensor: l.tensor, shape: l.shape })),
    );
  });

  it('reads the file only with runner: null (torch exports declare no intermediate shapes)', async () => {
    const s = await inspectModelFile(path, { runner: null });
    expect(s.layers.filter((l) => !l.isGraphOutput).every((l) => l.shape === null)).toBe(true);
  });

  it('reports the layers without shapes when onnxruntime refuses the model', async () => {
    const model = decodeModel(readFileSync(path), 'tiny');
    model.graph!.node.find((n) => n.opType === 'Relu')!.opType = 'NoSuchOp';
    const dir = mkdtempSync(join(tmpdir(), 'inspect-'));
    const refused = join(dir, 'refused.onnx');
    writeFileSync(refused, encodeModel(model));
    const s = await inspectModelFile(refused);
    expect(s.layers.map((l) => l.tensor)).toContain('/stage1/conv/Conv_output_0');
    expect(s.layers.find((l) => l.tensor === '/stage1/conv/Conv_output_0')!.shape).toBeNull();
  });

  it('marks tensors that do not split per example, and resolves external-data models', async () => {
    const attention = await inspectModelFile(join(fixtures, 'tiny_attention.onnx'));
    const layer = (t: string) => attention.layers.find((l) => l.tensor === t);
    expect(layer('/seq_first_norm/LayerNormalization_output_0')).toMatchObject({
      split: 'none',
      splitReason: 'its first axis is 8, not the examples (batch)',
    }); // [8, batch, 32]
    expect(layer('/ln1/LayerNormalization_output_0')!.split).toBeUndefined();
    const external = await inspectModelFile(join(fixtures, 'tiny_cnn_external.onnx'));
    expect(external.usesExternalData).toBe(true);
    expect(external.layers.map((l) => l.shape)).toEqual(expected.layers.map((l) => l.shape));
  });
});
