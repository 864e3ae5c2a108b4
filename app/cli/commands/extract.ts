/**
 * `cka-workbench extract MODEL.onnx --probe SPEC [--layers SEL] --out DIR [--batch B]`: runs the
 * model on a probe set and writes DIR/manifest.json plus one float32 [n, features] .npy per layer
 * (the format of activations/extract-dir.ts, loadable with numpy.load). A progress bar on a
 * terminal, plain progress lines otherwise (both on stderr); Ctrl-C cancels and leaves no partial
 * files behind.
 */
import type { Command } from 'commander';
import { SingleBar } from 'cli-progress';
import { WorkbenchError } from '../../common/errors.js';
import { ActivationEngine } from '../../engine/activations/engine.js';
import { ExtractDirSink } from '../../engine/activations/extract-dir.js';
import { DEFAULT_SELECTION } from '../../engine/activations/prepare.js';
import type { ExtractionProgress, ExtractionResult } from '../../engine/activations/types.js';
import { LAYER_PRESETS } from '../../engine/onnx/layer-selection.js';
import { IMAGENET_MEAN, IMAGENET_STD, parseImageSize, type ImageOptions } from '../../engine/probe/spec.js';
import type { CliContext } from '../context.js';
import { integerOption } from '../options.js';
import { formatShape } from '../output.js';

interface ExtractOptions {
  probe: string;
  layers: string;
  out: string;
  batch?: string;
  exact?: boolean;
  imageSize?: string;
  imageMode?: string;
  mean?: string;
  std?: string;
  layout?: string;
  allowNonfinite?: boolean;
  json?: boolean;
}

function numberList(text: string | undefined, what: string): number[] | undefined {
  if (text === undefined) return undefined;
  if (text === 'imagenet') return what === 'mean' ? IMAGENET_MEAN : IMAGENET_STD;
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v)))
    throw new WorkbenchError('BAD_INPUT', `--${what} must be numbers, got '${text}'`);
  return values;
}

function imageOptions(o: ExtractOptions): ImageOptions {
  const options: ImageOptions = {};
  if (o.imageSize !== undefined) options.size = parseImageSize('--image-size', o.imageSize);
  if (o.imageMode !== undefined) {
    if (o.imageMode !== 'gray' && o.imageMode !== 'rgb')
      throw new WorkbenchError('BAD_INPUT', `--image-mode must be gray or rgb`);
    options.mode = o.imageMode;
  }
  if (o.layout !== undefined) {
    if (o.layout !== 'nchw' && o.layout !== 'nhwc')
      throw new WorkbenchError('BAD_INPUT', `--layout must be nchw or nhwc`);
    options.layout = o.layout;
  }
  const mean = numberList(o.mean, 'mean');
  const std = numberList(o.std, 'std');
  if (mean) options.mean = mean;
  if (std) options.std = std;
  return options;
}

/** A bar on a terminal, a line per ~second otherwise. */
function progressReporter(): { update(p: ExtractionProgress): void; stop(): void } {
  if (process.stderr.isTTY) {
    const bar = new SingleBar({
      format: 'extracting [{bar}] {value}/{total} examples · {rate} ex/s · eta {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    });
    let started = false;
    return {
      update(p) {
        if (!started) bar.start(p.n, 0, { rate: '…' });
        started = true;
        bar.update(p.examplesDone, { rate: Math.round(p.examplesPerSecond) });
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < 1000 && p.examplesDone < p.n) return;
      last = now;
      process.stderr.write(
        `extract: batch ${p.batchesDone}/${p.batchesTotal}, ${p.examplesDone}/${p.n} examples, ${Math.round(p.examplesPerSecond)} examples/s\n`,
      );
    },
    stop: () => undefined,
  };
}

export function formatExtractResult(result: ExtractionResult, dir: string): string {
  const lines = [
    `wrote ${result.layers.length} layer(s) × ${result.probe.n} examples to ${dir} (manifest.json) in ${result.seconds.toFixed(1)} s, ${Math.round(result.examplesPerSecond)} examples/s`,
    ...result.layers.map((l) => `  ${l.name}  ${l.op}  ${formatShape(l.shape)}  ${l.features} features`),
  ];
  for (const [tensor, c] of Object.entries(result.nonFinite)) {
    lines.push(`warning: ${tensor} has ${c.nan} NaN and ${c.inf} ±Inf values (first in example ${c.firstExample})`);
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  return lines.join('\n');
}

export function registerExtract(program: Command, context: CliContext): void {
  program
    .command('extract')
    .description('run a model on a probe set and write per-layer activations (.npy) and a manifest')
    .argument('<model>', 'an ONNX model file')
    .requiredOption('--probe <spec>', 'fashion-mnist:N, npy:PATH, npz:PATH[:KEY], images:DIR or random:N[:SEED]')
    .option(
      '--layers <selection>',
      `all, op:TYPE[,TYPE], tensor or layer names (comma separated), or ${Object.entries(LAYER_PRESETS)
        .map(([p, what]) => `preset:${p} (${what})`)
        .join(', ')}`,
      DEFAULT_SELECTION,
    )
    .requiredOption('--out <dir>', 'directory for manifest.json and the .npy files')
    .option('--batch <n>', 'examples per forward pass (default: chosen from memory)')
    .option('--exact', 'no onnxruntime graph optimisations (slower; outputs bit-identical to the untouched model)')
    .option('--image-size <HxW>', 'images: resize and centre-crop to this size')
    .option('--image-mode <mode>', 'images: gray or rgb')
    .option('--mean <values>', 'images: per-channel mean (or "imagenet")')
    .option('--std <values>', 'images: per-channel std (or "imagenet")')
    .option('--layout <layout>', 'images: nchw or nhwc')
    .option('--allow-nonfinite', 'report NaN/Inf activations as warnings instead of failing')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, options: ExtractOptions) => {
      const engine = new ActivationEngine();
      const controller = new AbortController();
      const onSigint = () => controller.abort();
      process.once('SIGINT', onSigint);
      const progress = progressReporter();
      try {
        const result = await engine.extract(
          {
            model,
            probe: options.probe,
            layers: options.layers,
            imageOptions: imageOptions(options),
            optimization: options.exact ? 'exact' : 'fast',
          },
          {
            sinks: [new ExtractDirSink(options.out)],
            batchSize: integerOption(options.batch, '--batch', 1),
            signal: controller.signal,
            onProgress: (p) => progress.update(p),
            nonFinite: options.allowNonfinite ? 'report' : 'error',
          },
        );
        progress.stop();
        context.print(options.json ? JSON.stringify(result, null, 2) : formatExtractResult(result, options.out));
      } finally {
        progress.stop();
        process.off('SIGINT', onSigint);
        await engine.close();
      }
    });
}
