/**
 * `images:DIR`: the PNG and JPEG files of a folder (not its subfolders), in sorted file-name order
 * (code-point order, the same on every OS). Each image is auto-rotated by its EXIF orientation,
 * stripped of alpha, converted to grayscale or RGB, resized to cover the target size and centre-
 * cropped to it (sharp, default Lanczos-3 kernel), scaled to [0, 1] and normalised per channel as
 * (x − mean) / std, then laid out channels-first (NCHW) or channels-last (NHWC).
 *
 * Defaults come from the model input's shape: layout from where the 1- or 3-channel axis is, mode
 * from the channel count, size from the spatial dims; mean 0 and std 1. Other files are skipped and
 * counted in `notes`.
 */
import { join, resolve } from 'node:path';
import type SharpFactory from 'sharp';
import type { Dim } from '../../common/contract.js';
import { FILE_SIZE_LIMITS, readRegularFile } from '../io/regular-file.js';
import { WorkbenchError } from '../../common/errors.js';
import { checkExampleShape, type ModelInput } from './model-input.js';
import { formatShape } from '../../common/format.js';
import { checkExampleCount, probeHash, type ProbeSource } from './source.js';
import { listImages } from './image-files.js';
import type { ImageOptions } from './spec.js';

export interface ResolvedImageOptions {
  size: [number, number];
  mode: 'gray' | 'rgb';
  mean: number[];
  std: number[];
  layout: 'nchw' | 'nhwc';
}

function isChannelAxis(d: Dim | undefined): boolean {
  return d === 1 || d === 3;
}

/** Fills in what the options leave open from the model input's shape. */
export function resolveImageOptions(dir: string, options: ImageOptions, input: ModelInput): ResolvedImageOptions {
  const dims = input.shape.slice(1);
  const fail = (problem: string): never => {
    throw new WorkbenchError('BAD_PROBE', `probe images:${dir}: ${problem}`);
  };
  if (dims.length !== 3) {
    fail(
      `images need a model input of rank 4 (batch, channels and two spatial axes); '${input.name}' is ${formatShape(input.shape)}`,
    );
  }
  const [a, b, c] = dims;
  const layout = options.layout ?? (isChannelAxis(c) && !isChannelAxis(a) ? 'nhwc' : 'nchw');
  const [channels, height, width] = layout === 'nchw' ? [a, b, c] : [c, a, b];
  const mode =
    options.mode ?? (channels === 1 ? 'gray' : channels === 3 || typeof channels !== 'number' ? 'rgb' : undefined);
  if (!mode)
    fail(
      `the model input '${input.name}' ${formatShape(input.shape)} has ${channels} channels; images give 1 (gray) or 3 (rgb)`,
    );
  let size = options.size;
  if (!size) {
    if (typeof height !== 'number' || typeof width !== 'number') {
      fail(`the model input '${input.name}' ${formatShape(input.shape)} has no fixed spatial size: add ?size=HxW`);
    }
    size = [height as number, width as number];
  }
  const count = mode === 'gray' ? 1 : 3;
  const perChannel = (values: number[] | undefined, fallback: number, what: string): number[] => {
    if (!values) return new Array<number>(count).fill(fallback);
    if (values.length === 1) return new Array<number>(count).fill(values[0]!);
    if (values.length !== count) fail(`${what} has ${values.length} values for ${count} channel(s)`);
    return values;
  };
  return {
    size,
    mode: mode!,
    layout,
    mean: perChannel(options.mean, 0, 'mean'),
    std: perChannel(options.std, 1, 'std'),
  };
}

export function canonicalImageSpec(dir: string, o: ResolvedImageOptions): string {
  return `images:${dir}?size=${o.size[0]}x${o.size[1]}&mode=${o.mode}&mean=${o.mean.join(',')}&std=${o.std.join(',')}&layout=${o.layout}`;
}

/** An image file's bytes: a regular file only (io/regular-file.ts), so a FIFO never reaches libvips' threads. */
async function readImageFile(path: string): Promise<Buffer> {
  return (await readRegularFile(path, { what: 'image', maxBytes: FILE_SIZE_LIMITS.image })).bytes;
}

/** sharp (libvips) is loaded on the first image: 0.2–0.4 s of start-up no other probe should pay. */
let sharpModule: Promise<typeof SharpFactory> | null = null;
const loadSharp = () => (sharpModule ??= import('sharp').then((m) => m.default));

async function decodeImage(path: string, o: ResolvedImageOptions, out: Float32Array): Promise<void> {
  const [height, width] = o.size;
  const sharp = await loadSharp();
  const bytes = await readImageFile(path);
  let decoded;
  try {
    // sharp refuses an empty buffer when it is given one, not when it decodes.
    let image = sharp(bytes, { failOn: 'error' }).rotate().removeAlpha();
    image = o.mode === 'gray' ? image.grayscale() : image.toColourspace('srgb');
    decoded = await image
      .resize(width, height, { fit: 'cover', position: 'centre' })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new WorkbenchError('BAD_PROBE', `${path}: not a readable image (${(err as Error).message})`);
  }
  const { data, info } = decoded;
  const channels = o.mode === 'gray' ? 1 : 3;
  const plane = height * width;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < channels; ch++) {
      // A 1-channel source asked for RGB repeats its one channel.
      const value = data[p * info.channels + Math.min(ch, info.channels - 1)]! / 255;
      const normalised = (value - o.mean[ch]!) / o.std[ch]!;
      out[o.layout === 'nchw' ? ch * plane + p : p * channels + ch] = normalised;
    }
  }
}

export async function openImageProbe(
  dirText: string,
  options: ImageOptions,
  input: ModelInput,
  maxExamples?: number,
): Promise<ProbeSource> {
  const dir = resolve(dirText);
  const resolved = resolveImageOptions(dirText, options, input);
  const spec = canonicalImageSpec(dir, resolved);
  const { files, skipped } = await listImages(dir, `images:${dirText}`);
  if (files.length === 0) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe images:${dirText}: no PNG or JPEG images in ${dir} (${skipped} other entries skipped)`,
    );
  }
  const channels = resolved.mode === 'gray' ? 1 : 3;
  const [height, width] = resolved.size;
  const exampleShape = resolved.layout === 'nchw' ? [channels, height, width] : [height, width, channels];
  checkExampleShape(spec, exampleShape, input);
  checkExampleCount(spec, files.length, maxExamples);
  const hash = probeHash().update(`${spec}\n`);
  for (const name of files) {
    hash.update(`${name}\0`);
    hash.update(await readImageFile(join(dir, name)));
  }
  const perExample = channels * height * width;
  return {
    spec,
    hash: hash.digest('hex'),
    n: files.length,
    exampleShape,
    notes: skipped > 0 ? [`skipped ${skipped} entr${skipped === 1 ? 'y' : 'ies'} that are not PNG or JPEG files`] : [],
    async read(start, count) {
      const out = new Float32Array(count * perExample);
      const outcomes = await Promise.allSettled(
        files
          .slice(start, start + count)
          .map((name, k) => decodeImage(join(dir, name), resolved, out.subarray(k * perExample, (k + 1) * perExample))),
      );
      // Report the first unreadable file in probe order, not whichever decode failed first.
      const failed = outcomes.find((o): o is PromiseRejectedResult => o.status === 'rejected');
      if (failed) throw failed.reason;
      return out;
    },
    close: async () => undefined,
  };
}
