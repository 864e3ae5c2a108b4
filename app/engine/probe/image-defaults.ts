/**
 * How a model wants its images, beyond what its input shape says (size, channels, layout): the
 * normalisation, and a size when the input leaves it free. From, in order:
 *
 * - `preprocessor_config.json` beside the model (Hugging Face image processors: `image_mean`,
 *   `image_std` unless `do_normalize` is false, `size` as {height, width}, {shortest_edge} or a number);
 * - the zoo's own normalisation (models/zoo.json) for the shipped models, which were trained on
 *   (x/255 − mean) / std;
 *
 * so one folder of images feeds a 28×28 grey CNN and a 224×224 RGB ViT each the way it was trained.
 * Options given with the spec win over both.
 */
import { existsSync, promises as fs } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { preprocessorConfigFile } from './image-files.js';
import { readLocalJson } from './local-file.js';
import type { ImageOptions } from './spec.js';

interface PreprocessorConfig {
  image_mean?: unknown;
  image_std?: unknown;
  do_normalize?: unknown;
  size?: unknown;
}

const numbers = (v: unknown): number[] | undefined =>
  Array.isArray(v) && v.length > 0 && v.every((x) => typeof x === 'number' && Number.isFinite(x))
    ? (v as number[])
    : typeof v === 'number' && Number.isFinite(v)
      ? [v]
      : undefined;

function sizeOf(v: unknown): [number, number] | undefined {
  if (typeof v === 'number' && v > 0) return [v, v];
  if (typeof v !== 'object' || v === null) return undefined;
  const s = v as { height?: unknown; width?: unknown; shortest_edge?: unknown };
  if (typeof s.height === 'number' && typeof s.width === 'number') return [s.height, s.width];
  if (typeof s.shortest_edge === 'number') return [s.shortest_edge, s.shortest_edge];
  return undefined;
}

async function fromPreprocessor(modelPath: string): Promise<ImageOptions | null> {
  const path = preprocessorConfigFile(modelPath);
  if (!existsSync(path)) return null;
  const config = (await readLocalJson(path, 'image preprocessor config', 4 * 2 ** 20)) as PreprocessorConfig;
  const options: ImageOptions = {};
  const mean = numbers(config.image_mean);
  const std = numbers(config.image_std);
  if (config.do_normalize !== false && mean && std && std.every((s) => s > 0)) {
    options.mean = mean;
    options.std = std;
  }
  const size = sizeOf(config.size);
  if (size) options.size = size;
  return options;
}

async function fromZoo(modelPath: string, modelsDir: string): Promise<ImageOptions | null> {
  let zoo: {
    normalization?: { scale?: number; mean?: number; std?: number };
    models?: { file?: string }[];
    transformers?: { file?: string }[];
  };
  try {
    zoo = JSON.parse(await fs.readFile(join(modelsDir, 'zoo.json'), 'utf8')) as typeof zoo;
  } catch {
    return null;
  }
  const file = relative(resolve(modelsDir), resolve(modelPath)).split('\\').join('/');
  const listed = [...(zoo.models ?? []), ...(zoo.transformers ?? [])].some((m) => m.file === file);
  const norm = zoo.normalization;
  // The zoo scales by 1/255 as the images do; only mean and std remain.
  if (!listed || typeof norm?.mean !== 'number' || typeof norm.std !== 'number' || !(norm.std > 0)) return null;
  return { mean: [norm.mean], std: [norm.std] };
}

/** The model's own image options (empty when it says nothing), under the spec's own options. */
export async function modelImageOptions(
  modelPath: string | undefined,
  modelsDir: string | undefined,
): Promise<ImageOptions> {
  if (!modelPath) return {};
  return (await fromPreprocessor(modelPath)) ?? (modelsDir ? await fromZoo(modelPath, modelsDir) : null) ?? {};
}
