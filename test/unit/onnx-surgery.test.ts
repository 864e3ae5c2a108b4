import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeModel } from '../../app/engine/onnx/codec.js';
import { extraOutputsPatch, outputsToAdd, withExtraOutputs } from '../../app/engine/onnx/surgery.js';

const fixtures = new URL('../fixtures/models/', import.meta.url).pathname;

describe('graph surgery by appending graph outputs', () => {
  const path = join(fixtures, 'resnet18_narrow.onnx');
  const bytes = readFileSync(path);
  const original = decodeModel(bytes, path);

  it('adds name-only outputs after the original ones and keeps every original byte', () => {
    const names = ['/relu/Relu_output_0', '/layer1/layer1.0/Add_output_0'];
    const rewritten = withExtraOutputs(bytes, names);
    expect(Buffer.compare(Buffer.from(rewritten.subarray(0, bytes.length)), bytes)).toBe(0);
    const model = decodeModel(rewritten, 'rewritten');
    const outputs = model.graph!.output;
    expect(outputs.map((o) => o.name)).toEqual([...original.graph!.output.map((o) => o.name), ...names]);
    // The original output keeps its declared type; the added ones declare none.
    expect(outputs[0]!.type?.value.case).toBe('tensorType');
    expect(outputs.slice(-2).every((o) => o.type === undefined)).toBe(true);
    // Everything else is the same graph.
    expect(model.graph!.node.length).toBe(original.graph!.node.length);
    expect(model.graph!.initializer.length).toBe(original.graph!.initializer.length);
    expect(model.graph!.name).toBe(original.graph!.name);
  });

  it('encodes field 7 holding repeated field 12 holding field 1, as protobuf specifies', () => {
    const patch = extraOutputsPatch(['ab']);
    // tag(7, LEN)=0x3a len=6 | tag(12, LEN)=0x62 len=4 | tag(1, LEN)=0x0a len=2 'a' 'b'
    expect([...patch]).toEqual([0x3a, 6, 0x62, 4, 0x0a, 2, 0x61, 0x62]);
    expect(extraOutputsPatch([]).length).toBe(0);
  });

  it('adds only what is not already an output, once, and refuses non-computed names', () => {
    const graph = original.graph!;
    expect(outputsToAdd(graph, ['logits', '/relu/Relu_output_0', '/relu/Relu_output_0'], 'm.onnx')).toEqual([
      '/relu/Relu_output_0',
    ]);
    expect(() => outputsToAdd(graph, ['conv1.weight'], 'm.onnx')).toThrow(
      "m.onnx: 'conv1.weight' is an initializer (a stored weight), not a layer output",
    );
    expect(() => outputsToAdd(graph, ['input'], 'm.onnx')).toThrow(
      "m.onnx: 'input' is a graph input, not a layer output",
    );
    expect(() => outputsToAdd(graph, ['nope'], 'm.onnx')).toThrow(
      "no node of the graph produces a tensor named 'nope'",
    );
  });
});
