/**
 * `fashion-mnist:N`: the first N images of the Fashion-MNIST test subset that ships with the model
 * zoo (`models/probe/*.npy`, uint8 [5000, 28, 28], from Debian's dataset-fashion-mnist), normalised
 * as the zoo's models were trained: (x · scale − mean) / std with the constants recorded in
 * `models/zoo.json` under `normalization` — computed in float32 step by step, as
 * models/train_zoo.py does in numpy, so the inputs match the training pipeline bit for bit.
 */
import { WorkbenchError } from '../../common/errors.js';
import { prefixedFileDigest } from '../io/file-hash.js';
import { FILE_SIZE_LIMITS, openRegularFile } from '../io/regular-file.js';
import { openNpyProbe } from './array-probe.js';
import { defaultModelsDir } from './models-dir.js';
import { checkExampleShape, type ModelInput } from './model-input.js';
import type { ProbeSource } from './source.js';
import { readZooManifest } from './zoo-manifest.js';

export { defaultModelsDir };

/** Example shapes a grayscale 28×28 image can be fed as: one channel is the same bytes either way. */
const IMAGE_SHAPES = [[1, 28, 28], [28, 28, 1], [28, 28], [784]];

async function imagesDigest(prefix: string, path: string): Promise<string> {
  const file = await openRegularFile(path, { what: 'image array', maxBytes: FILE_SIZE_LIMITS.array });
  try {
    return await prefixedFileDigest(prefix, file);
  } finally {
    await file.close();
  }
}

export async function openFashionMnistProbe(
  n: number,
  input: ModelInput,
  modelsDir = defaultModelsDir(),
): Promise<ProbeSource> {
  const spec = `fashion-mnist:${n}`;
  const zoo = await readZooManifest(modelsDir);
  const exampleShape = IMAGE_SHAPES.find((shape) => {
    try {
      checkExampleShape(spec, shape, input);
      return true;
    } catch {
      return false;
    }
  });
  if (!exampleShape) checkExampleShape(spec, IMAGE_SHAPES[0]!, input); // throws, stating both shapes
  const pixels = await openNpyProbe(zoo.images, { name: 'images', shape: [null, 28, 28], dtype: 'uint8' });
  if (n > pixels.n) {
    await pixels.close();
    throw new WorkbenchError('BAD_PROBE', `probe ${spec}: the built-in set has ${pixels.n} images`);
  }
  const { scale, mean, std } = zoo.normalization;
  const hash = await imagesDigest(`${spec}\nscale=${scale} mean=${mean} std=${std}\n`, zoo.images);
  const f32 = Math.fround;
  const [s32, m32, d32] = [f32(scale), f32(mean), f32(std)];
  return {
    spec,
    hash,
    n,
    exampleShape: exampleShape!,
    notes: [],
    async read(start, count) {
      const x = await pixels.read(start, count);
      // Each step rounded to float32, like numpy's float32 arithmetic in the training script.
      for (let i = 0; i < x.length; i++) x[i] = f32(f32(f32(x[i]! * s32) - m32) / d32);
      return x;
    },
    close: () => pixels.close(),
  };
}
