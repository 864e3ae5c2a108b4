import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LayerInfo } from '../../app/common/contract.js';
import { summarizeModel } from '../../app/engine/onnx/catalogue.js';
import { decodeModel } from '../../app/engine/onnx/codec.js';
import { closestNames, selectLayers } from '../../app/engine/onnx/layer-selection.js';

const fixtures = new URL('../fixtures/models/', import.meta.url).pathname;

function context(file: string) {
  const path = join(fixtures, file);
  const model = decodeModel(readFileSync(path), path);
  const summary = summarizeModel(model, { path: file, fileName: file, sizeBytes: 0, sha256: '', fileSha256: '' });
  return { layers: summary.layers, graph: model.graph!, source: file };
}

const tensors = (layers: LayerInfo[]) => layers.map((l) => l.tensor);
const names = (layers: LayerInfo[]) => layers.map((l) => l.name);

describe('layer selection', () => {
  const tiny = context('tiny_cnn.onnx');
  const resnet = context('resnet18_narrow.onnx');

  it('all, op: and several ops, always in graph order', () => {
    expect(selectLayers('all', tiny)).toEqual(tiny.layers);
    expect(names(selectLayers('op:Relu', tiny))).toEqual(['stage1.relu', 'stage2.relu']);
    // Listing Gemm before Conv does not change the order of the result.
    expect(names(selectLayers('op:Gemm,Conv', tiny))).toEqual(['stage1.conv', 'stage2.conv', 'head']);
    expect(names(selectLayers('op:relu', tiny))).toEqual(['stage1.relu', 'stage2.relu']);
    const relus = selectLayers('op:Relu', resnet);
    expect(relus).toHaveLength(17);
    expect(relus.map((l) => l.index)).toEqual([...relus.map((l) => l.index)].sort((a, b) => a - b));
  });

  it('explicit names: tensor names, short names and node names, deduplicated, in graph order', () => {
    const chosen = selectLayers('logits, stage1.relu,/stage2/conv/Conv,stage1.relu', tiny);
    expect(tensors(chosen)).toEqual(['/stage1/relu/Relu_output_0', '/stage2/conv/Conv_output_0', 'logits']);
  });

  it('preset:blocks on a plain CNN: every ReLU, the pooled feature, the logits', () => {
    expect(names(selectLayers('preset:blocks', tiny))).toEqual(['stage1.relu', 'stage2.relu', 'gap', 'head']);
  });

  it('preset:blocks on ResNet-18: the ReLUs (residual sums are followed by one), avgpool, logits', () => {
    const blocks = selectLayers('preset:blocks', resnet);
    expect(blocks).toHaveLength(17 + 2);
    expect(blocks.filter((l) => l.op === 'Add')).toEqual([]);
    expect(tensors(blocks).slice(-2)).toEqual(['/avgpool/GlobalAveragePool_output_0', 'logits']);
  });

  it('preset:blocks on MobileNetV3 keeps residual sums and leaves squeeze-excitation gates out', () => {
    const blocks = tensors(selectLayers('preset:blocks', context('mobilenet_v3_small_narrow.onnx')));
    expect(blocks).toContain('/features/features.3/Add_output_0');
    expect(blocks).toContain('/features/features.0/features.0.2/HardSwish_output_0');
    expect(
      blocks.filter((t) => /\/(fc1|fc2|activation|scale_activation|avgpool)\//.test(t) && t.includes('block')),
    ).toEqual([]);
    expect(blocks.slice(-2)).toEqual(['/classifier/classifier.1/HardSwish_output_0', 'logits']);
    expect(blocks).toContain('/avgpool/GlobalAveragePool_output_0');
  });

  it('preset:blocks on a pre-norm transformer block: residual sums, the mean-pooled feature, logits', () => {
    const blocks = tensors(selectLayers('preset:blocks', context('tiny_attention.onnx')));
    expect(blocks).toEqual(['/Add_output_0', '/Add_1_output_0', '/ReduceMean_output_0', 'logits']);
  });

  it('says what a name is when it is not a layer', () => {
    expect(() => selectLayers('head.weight', tiny)).toThrow(
      "tiny_cnn.onnx: 'head.weight' is an initializer (a stored weight), not a layer output",
    );
    expect(() => selectLayers('input', tiny)).toThrow("tiny_cnn.onnx: 'input' is a graph input, not a layer output");
    const attention = context('tiny_attention.onnx');
    expect(() => selectLayers('/attn/Shape_output_0', { ...attention, dtypeOf: () => 'int64' })).toThrow(
      "tensor '/attn/Shape_output_0' is not a layer that can be extracted (it is a int64 tensor, and only float tensors are representations)",
    );
  });

  it('lists close matches for an unknown name, and known ops and presets for bad op:/preset:', () => {
    expect(() => selectLayers('stage1.reul', tiny)).toThrow(
      "tiny_cnn.onnx: no layer or tensor named 'stage1.reul'; close matches: stage1.relu (/stage1/relu/Relu_output_0)",
    );
    expect(closestNames('layer1.0.rel', resnet.layers)[0]).toBe('layer1.0.relu (/layer1/layer1.0/relu/Relu_output_0)');
    expect(() => selectLayers('op:Sigmoid', tiny)).toThrow(
      "tiny_cnn.onnx: no layer has op 'Sigmoid' (ops with layers: Conv, Relu, MaxPool, GlobalAveragePool, Flatten, Gemm)",
    );
    expect(() => selectLayers('preset:everything', tiny)).toThrow(
      "unknown layer preset 'everything' (known: preset:blocks)",
    );
    expect(() => selectLayers('  ', tiny)).toThrow('empty layer selection');
  });
});
