/**
 * Shapes worked out from the file (onnx/shape-inference.ts) against onnxruntime on every fixture
 * and zoo model: where onnxruntime's session reports a dim, ours is the same; where it reports it
 * unknown (reshapes of shape arithmetic, a batch merged with the heads), ours is what a real
 * batch of 2 (and a token length of 5) gives when run. Models the rules cannot answer for go to
 * onnxruntime, so the list of models answered from the file is checked too.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import type { Dim } from '../../app/common/contract.js';
import { catalogueTensors, typeResolutionCandidates, type TensorType } from '../../app/engine/onnx/catalogue.js';
import { loadModel } from '../../app/engine/onnx/model-file.js';
import { divideDim, multiplyDim, reshapeOutput } from '../../app/engine/onnx/shape-dims.js';
import { withExtraOutputs } from '../../app/engine/onnx/surgery.js';
import { typesFromFile } from '../../app/engine/runner/inspect-model.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

const modelFiles = [
  ...['models', 'text', 'views'].flatMap((dir) =>
    readdirSync(join(fixturesDir, dir))
      .filter((f) => f.endsWith('.onnx'))
      .map((f) => join(fixturesDir, dir, f)),
  ),
  ...(existsSync(join(repoRoot, 'models', 'zoo'))
    ? readdirSync(join(repoRoot, 'models', 'zoo'))
        .filter((f) => f.endsWith('.onnx') && !/plain-d1-s[1-4]/.test(f)) // the seeds share one graph
        .map((f) => join(repoRoot, 'models', 'zoo', f))
    : []),
].filter((f) => !f.endsWith('_external.onnx')); // the same graph as tiny_cnn, its weights in another file

/** Sizes the symbols take in the real run. */
const SIZES: Record<string, number> = { batch: 2, unk__20: 2, seq: 5 };

function evaluate(d: Dim): number | null {
  if (typeof d === 'number') return d;
  if (d === null) return null;
  return d.split('*').reduce((a, part) => a * (/^\d+$/.test(part) ? Number(part) : (SIZES[part] ?? NaN)), 1);
}

function ortType(meta: ort.InferenceSession.ValueMetadata): TensorType | null {
  if (!meta.isTensor) return null;
  const shape = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : typeof d === 'string' && d ? d : null));
  return { dtype: meta.type, shape: shape.length > 0 ? shape : null };
}

function feedsFor(session: ort.InferenceSession): Record<string, ort.Tensor> {
  const feeds: Record<string, ort.Tensor> = {};
  for (const meta of session.inputMetadata) {
    if (!meta.isTensor) continue;
    const dims = meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : (SIZES[String(d)] ?? 2)));
    const size = dims.reduce((a, b) => a * b, 1);
    feeds[meta.name] =
      meta.type === 'int64'
        ? new ort.Tensor(
            'int64',
            BigInt64Array.from({ length: size }, () => 1n),
            dims,
          )
        : new ort.Tensor(
            'float32',
            Float32Array.from({ length: size }, (_, i) => Math.sin(i)),
            dims,
          );
  }
  return feeds;
}

describe('shapes from the file', () => {
  it('multiplies, divides and resolves −1 with symbols', () => {
    expect(multiplyDim('batch', 4)).toBe('batch*4');
    expect(multiplyDim('batch*4', 'seq')).toBe('batch*seq*4');
    expect(divideDim('batch*4', 4)).toBe('batch');
    expect(divideDim(64, 'batch')).toBeNull();
    expect(reshapeOutput(['batch', 16, 2, 2], ['batch', -1], false)).toEqual(['batch', 64]);
    expect(reshapeOutput(['batch', 17, 64], [0, 0, 4, 16], false)).toEqual(['batch', 17, 4, 16]);
    expect(reshapeOutput(['batch', 4, 17, 16], [-1, 17, 16], false)).toEqual(['batch*4', 17, 16]);
    expect(reshapeOutput([null, 6], [-1, 3], false)).toEqual([null, 3]);
  });

  it('agrees with onnxruntime, and with real batches where onnxruntime does not know', async () => {
    const answered: string[] = [];
    let checkedAgainstRun = 0;
    for (const file of modelFiles) {
      const loaded = await loadModel(file);
      const graph = loaded.model.graph!;
      const ours = typesFromFile(loaded.model, file);
      if (!ours) continue;
      answered.push(file.split('/').slice(-2).join('/'));
      const candidates = typeResolutionCandidates(graph, catalogueTensors(graph, file));
      const session = await ort.InferenceSession.create(withExtraOutputs(readFileSync(file), candidates), {
        graphOptimizationLevel: 'disabled',
        logSeverityLevel: 3,
      });
      const outputs = await session.run(feedsFor(session));
      for (const meta of [...session.inputMetadata, ...session.outputMetadata]) {
        const reference = ortType(meta);
        if (!reference) continue;
        const mine = ours.get(meta.name);
        const where = `${file}: ${meta.name}`;
        expect(mine?.dtype, where).toBe(reference.dtype);
        const real = outputs[meta.name]?.dims;
        if (reference.shape === null && real === undefined) {
          expect(mine?.shape, where).toBeNull();
          continue;
        }
        const mineShape = mine!.shape ?? [];
        if (reference.shape) expect(mineShape.length, where).toBe(reference.shape.length);
        mineShape.forEach((d, i) => {
          const known = reference.shape?.[i];
          if (known !== null && known !== undefined) expect(d, where).toBe(known);
          else {
            expect(real, where).toBeDefined();
            expect(evaluate(d), `${where} axis ${i}`).toBe(real![i]);
            checkedAgainstRun++;
          }
        });
      }
      await session.release();
    }
    // The text encoders' position ids are sliced to the sequence length (min(seq, 16) is no symbol):
    // onnxruntime is asked for them.
    expect(answered.filter((f) => f.startsWith('text/'))).toEqual([]);
    expect(answered).toEqual(
      expect.arrayContaining([
        'models/tiny_cnn.onnx',
        'models/bn_cnn.onnx',
        'models/resnet18_narrow.onnx',
        'models/mobilenet_v3_small_narrow.onnx',
        'models/shufflenet_v2_narrow.onnx',
        'models/tiny_attention.onnx',
        'models/nhwc_tf.onnx',
        'views/a.onnx',
        'views/b.onnx',
      ]),
    );
    if (modelFiles.some((f) => f.includes('/zoo/'))) {
      expect(answered).toEqual(
        expect.arrayContaining(['zoo/plain-d1-s0.onnx', 'zoo/plain-d8-s0.onnx', 'zoo/vit-s0.onnx']),
      );
    }
    expect(checkedAgainstRun).toBeGreaterThan(100);
  });
});
