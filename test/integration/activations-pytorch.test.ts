/**
 * Extracted activations against PyTorch forward hooks on the same models and inputs (fixtures from
 * test/fixtures/make_activation_fixtures.py), and the rewritten graph's final outputs against the
 * untouched model's.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ActivationEngine } from '../../app/engine/activations/engine.js';
import type { ActivationSink, ExtractionInfo, LayerBatch } from '../../app/engine/activations/types.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import type { OptimizationMode } from '../../app/engine/runner/protocol.js';

const fixtures = new URL('../fixtures/', import.meta.url).pathname;

interface Reference {
  model: string;
  examples: number;
  inputShape: number[];
  outputTensor: string;
  layers: { key: string; tensor: string; module: string | null; shape: number[] }[];
}

/** Keeps every layer's rows in memory (fine for a handful of examples). */
class CollectingSink implements ActivationSink {
  info: ExtractionInfo | null = null;
  rows = new Map<string, Float32Array>();
  begin(info: ExtractionInfo) {
    this.info = info;
    for (const l of info.layers) this.rows.set(l.tensor, new Float32Array(info.probe.n * l.features));
  }
  write(batch: LayerBatch) {
    this.rows.get(batch.tensor)!.set(batch.data, batch.rowOffset * batch.features);
  }
}

/** max |a − b| / max |b|: the error relative to the tensor's scale. */
function relativeError(actual: Float32Array, expected: Float32Array): number {
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < expected.length; i++) {
    diff = Math.max(diff, Math.abs(actual[i]! - expected[i]!));
    scale = Math.max(scale, Math.abs(expected[i]!));
  }
  return diff / Math.max(scale, 1e-30);
}

async function npzArrays(name: string): Promise<Map<string, Float32Array>> {
  const { unzipSync } = await import('fflate');
  const { parseNpy, toFloat32 } = await import('../../app/engine/io/npy.js');
  const files = unzipSync(readFileSync(join(fixtures, 'activations', `${name}.npz`)));
  return new Map(
    Object.entries(files).map(([file, bytes]) => [file.replace(/\.npy$/, ''), toFloat32(parseNpy(bytes, file))]),
  );
}

const engine = new ActivationEngine();
afterAll(() => engine.close());

async function extract(name: string, layers: string, optimization: OptimizationMode, batchSize = 3) {
  const sink = new CollectingSink();
  const result = await engine.extract(
    {
      model: join(fixtures, 'models', `${name}.onnx`),
      probe: `npz:${join(fixtures, 'activations', `${name}.npz`)}:input`,
      layers,
      optimization,
    },
    { sinks: [sink], batchSize },
  );
  return { sink, result };
}

/** The untouched model's final output on the same input, in the same session mode. */
async function untouchedOutput(name: string, ref: Reference, input: Float32Array, optimization: OptimizationMode) {
  const { facts } = await loadModel(join(fixtures, 'models', `${name}.onnx`));
  return engine.runner.withSession({ model: { path: facts.path, sha256: facts.sha256 }, optimization }, async (s) => {
    const inputName = s.inputs[0]!.name;
    const [out] = await s.run(
      [{ name: inputName, type: 'float32', dims: [ref.examples, ...ref.inputShape], data: input }],
      [ref.outputTensor],
    );
    return out!.data as Float32Array;
  });
}

const MODELS = [
  'bn_cnn',
  'resnet18_narrow',
  'mobilenet_v3_small_narrow',
  'shufflenet_v2_narrow',
  'tiny_attention',
  'nhwc_tf',
];

describe.each(MODELS)('%s', async (name) => {
  const ref = JSON.parse(readFileSync(join(fixtures, 'activations', `${name}.json`), 'utf8')) as Reference;
  const arrays = await npzArrays(name);
  const input = arrays.get('input')!;

  it('every hooked tensor matches PyTorch within 1e-5 of its scale (fast mode, calibration batches of 2 + 2)', async () => {
    const tensors = ref.layers.map((l) => l.tensor);
    const { sink, result } = await extract(name, tensors.join(','), 'fast');
    expect(result.layers.map((l) => l.tensor)).toEqual(
      tensors.slice().sort((a, b) => tensors.indexOf(a) - tensors.indexOf(b)),
    );
    expect(result.probe.n).toBe(ref.examples);
    for (const layer of ref.layers) {
      const got = sink.rows.get(layer.tensor)!;
      const extracted = result.layers.find((l) => l.tensor === layer.tensor)!;
      expect(extracted.shape, layer.tensor).toEqual(layer.shape);
      expect(relativeError(got, arrays.get(layer.key)!), layer.tensor).toBeLessThanOrEqual(1e-5);
    }
    expect(ref.layers.length).toBeGreaterThanOrEqual(5);
  });

  it('exact mode, every layer exposed: the final output equals the untouched model bit for bit', async () => {
    const { sink, result } = await extract(name, 'all', 'exact');
    expect(result.layers.length).toBeGreaterThan(ref.layers.length / 2);
    const untouched = await untouchedOutput(name, ref, input, 'exact');
    expect(sink.rows.get(ref.outputTensor)).toEqual(untouched);
    expect(relativeError(untouched, arrays.get('output')!)).toBeLessThanOrEqual(1e-5);
  });

  it('fast mode: every layer exposed stays within 1e-5 of the untouched output', async () => {
    const { sink } = await extract(name, 'all', 'fast');
    const untouched = await untouchedOutput(name, ref, input, 'fast');
    expect(relativeError(sink.rows.get(ref.outputTensor)!, untouched)).toBeLessThanOrEqual(1e-5);
  });

  it('fast mode, block outputs exposed: the final output is bit-identical', async () => {
    const { sink, result } = await extract(name, 'preset:blocks', 'fast');
    expect(result.layers.at(-1)!.tensor).toBe(ref.outputTensor);
    expect(sink.rows.get(ref.outputTensor)).toEqual(await untouchedOutput(name, ref, input, 'fast'));
  });
});
