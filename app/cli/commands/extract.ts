/**
 * `cka-workbench extract MODEL.onnx --probe SPEC [--layers SEL] --out DIR [--batch B]`: runs the
 * model on a probe set and writes DIR/manifest.json plus one float32 [n, features] .npy per layer
 * (the format of activations/extract-dir.ts, loadable with numpy.load). A progress bar on a
 * terminal, plain progress lines otherwise (both on stderr); Ctrl-C cancels and leaves no partial
 * files behind.
 */
import type { Command } from 'commander';
import type { ExtractionSummary, ImageProbeOptions, JobProgress } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';
import { DEFAULT_LAYER_SELECTION, LAYER_SELECTION_HELP } from '../../common/layer-selections.js';
import { REDUCTION_HELP, reduceSpecFromFlags } from '../../common/reductions.js';
import type { CliContext } from '../context.js';
import { runJob } from '../jobs.js';
import { integerOption } from '../options.js';
import { runnerPrestart } from '../lazy.js';

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
  reduce?: string;
  reduceLayer: string[];
  tokenizer?: string;
  maskInput?: string;
}

function numberList(text: string | undefined, what: string): number[] | 'imagenet' | undefined {
  if (text === undefined) return undefined;
  if (text === 'imagenet') return 'imagenet';
  const values = text.split(',').map((v) => Number(v.trim()));
  if (values.some((v) => !Number.isFinite(v)))
    throw new WorkbenchError('BAD_INPUT', `--${what} must be numbers, got '${text}'`);
  return values;
}

function imageSize(text: string): [number, number] {
  const parts = text.toLowerCase().split('x');
  const sizes = parts.map((p) => Number(p));
  if (parts.length > 2 || sizes.some((v) => !/^\d+$/.test(String(v)) || !Number.isSafeInteger(v) || v < 1)) {
    throw new WorkbenchError('BAD_INPUT', `--image-size must be HxW or one number, got '${text}'`);
  }
  return [sizes[0]!, sizes[1] ?? sizes[0]!];
}

function imageOptions(o: ExtractOptions): ImageProbeOptions {
  const options: ImageProbeOptions = {};
  if (o.imageSize !== undefined) options.size = imageSize(o.imageSize);
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
async function progressReporter(): Promise<{ update(p: JobProgress): void; stop(): void }> {
  if (process.stderr.isTTY) {
    const { SingleBar } = await import('cli-progress');
    const bar = new SingleBar({
      format: 'extracting [{bar}] {value}/{total} examples · {rate} ex/s · eta {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
    });
    let started = false;
    return {
      update(p) {
        if (!started) bar.start(p.total, 0, { rate: '…' });
        started = true;
        bar.update(p.done, { rate: Math.round(p.examplesPerSecond ?? 0) });
      },
      stop: () => started && bar.stop(),
    };
  }
  let last = 0;
  return {
    update(p) {
      const now = performance.now();
      if (now - last < 1000 && p.done < p.total) return;
      last = now;
      process.stderr.write(`extract: ${p.message}, ${Math.round(p.examplesPerSecond ?? 0)} examples/s\n`);
    },
    stop: () => undefined,
  };
}

export function formatExtractResult(result: ExtractionSummary, dir: string): string {
  const lines = [
    `wrote ${result.layers.length} layer(s) × ${result.probe.n} examples to ${dir} (manifest.json) in ${result.seconds.toFixed(1)} s, ${Math.round(result.examplesPerSecond)} examples/s`,
    ...result.layers.map(
      (l) =>
        `  ${l.name}  ${l.op}  ${formatShape(l.shape)}  ${l.features} features${l.reduction ? `  (${l.reduction}${l.rows !== undefined ? `, ${l.rows} rows` : ''})` : ''}`,
    ),
  ];
  for (const [tensor, c] of Object.entries(result.nonFinite)) {
    lines.push(`warning: ${tensor} has ${c.nan} NaN and ${c.inf} ±Inf values (first in example ${c.firstExample})`);
  }
  for (const note of result.notes) lines.push(`note: ${note}`);
  for (const o of result.omitted ?? []) lines.push(`omitted: ${o.name} (${o.tensor}): ${o.reason}`);
  return lines.join('\n');
}

export function registerExtract(program: Command, context: CliContext): void {
  program
    .command('extract')
    .description('run a model on a probe set and write per-layer activations (.npy) and a manifest')
    .argument('<model>', 'an ONNX model file')
    .requiredOption(
      '--probe <spec>',
      'fashion-mnist:N, npy:PATH, npz:PATH[:KEY], images:DIR, text:FILE (.txt/.jsonl) or random:N[:SEED]',
    )
    .option('--layers <selection>', LAYER_SELECTION_HELP, DEFAULT_LAYER_SELECTION)
    .requiredOption('--out <dir>', 'directory for manifest.json and the .npy files')
    .option('--batch <n>', 'examples per forward pass (default: chosen from memory)')
    .option('--exact', 'no onnxruntime graph optimisations (slower; outputs bit-identical to the untouched model)')
    .option('--image-size <HxW>', 'images: resize and centre-crop to this size')
    .option('--image-mode <mode>', 'images: gray or rgb')
    .option('--mean <values>', 'images: per-channel mean (or "imagenet")')
    .option('--std <values>', 'images: per-channel std (or "imagenet")')
    .option('--layout <layout>', 'images: nchw or nhwc')
    .option('--allow-nonfinite', 'report NaN/Inf activations as warnings instead of failing')
    .option('--reduce <r>', `how layers become rows: ${REDUCTION_HELP}`)
    .option(
      '--reduce-layer <name=r>',
      'one layer’s own reduction (repeat for several)',
      (v: string, all: string[]) => [...all, v],
      [],
    )
    .option('--tokenizer <path>', 'text probes: the tokenizer.json (default: the one beside the model)')
    .option('--mask-input <name>', 'the input that marks valid tokens (default: attention_mask)')
    .option('--json', 'print the result as JSON')
    .action(async (model: string, options: ExtractOptions) => {
      const reduce = reduceSpecFromFlags(options.reduce, options.reduceLayer);
      if ('problem' in reduce) throw new WorkbenchError('BAD_INPUT', reduce.problem);
      const progress = await progressReporter();
      const batchSize = integerOption(options.batch, '--batch', 1);
      // The model's runner process starts now, while the rest loads.
      (await runnerPrestart()).prestartModelRunners(1);
      const api = await context.api();
      try {
        const result = await runJob(
          api,
          (p) => progress.update(p),
          (jobId) =>
            api.extractActivations({
              model,
              probe: options.probe,
              layers: options.layers,
              out: options.out,
              image: imageOptions(options),
              optimization: options.exact ? 'exact' : 'fast',
              nonFinite: options.allowNonfinite ? 'report' : 'error',
              ...(reduce.spec !== undefined ? { reduce: reduce.spec } : {}),
              ...(options.tokenizer !== undefined ? { tokenizer: options.tokenizer } : {}),
              ...(options.maskInput !== undefined ? { maskInput: options.maskInput } : {}),
              ...(batchSize !== undefined ? { batchSize } : {}),
              jobId,
            }),
        );
        progress.stop();
        context.print(options.json ? JSON.stringify(result, null, 2) : formatExtractResult(result, options.out));
      } finally {
        progress.stop();
      }
    });
}
