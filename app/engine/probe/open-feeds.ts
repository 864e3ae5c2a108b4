/**
 * Opens a probe spec for a model's inputs (./feeds.ts): text through a tokenizer, arrays for
 * models with several or integer inputs, and any probe set for a model's one float input.
 */
import type { ProbeSetEntry } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';
import { feedDType, openArrayFeeds } from './array-feeds.js';
import { floatFeeds, type FeedSource } from './feeds.js';
import { modelImageOptions } from './image-defaults.js';
import type { ModelInput } from './model-input.js';
import { openProbe, type ProbeContext } from './open-probe.js';
import { parseProbeSpec, type ProbeSpec } from './spec.js';
import { openTextFeeds } from './text-feeds.js';
import { checkExampleCount } from './source.js';
import { tokenizerBeside, tokenizerFile } from './tokenizer-files.js';

export interface FeedContext extends ProbeContext {
  /** The model the probe feeds: its tokenizer and image preprocessing are found beside it. */
  modelPath?: string;
  /** A tokenizer.json (or its folder) for text probes; default: the spec's, else the model's. */
  tokenizer?: string;
  /** The input that marks valid tokens (default `attention_mask`). */
  maskInput?: string;
}

const FLOAT_INPUTS = new Set(['float32', 'float64', 'float16']);

/** The tokenizer a text probe uses: the spec's own, the one named, or the one beside the model. */
export function tokenizerFor(parsed: ProbeSpec, context: FeedContext): string | null {
  if (parsed.kind !== 'text') return null;
  if (parsed.tokenizer) return tokenizerFile(parsed.tokenizer);
  if (context.tokenizer) return tokenizerFile(context.tokenizer);
  return context.modelPath ? tokenizerBeside(context.modelPath) : null;
}

export async function openFeeds(
  spec: string | ProbeSpec,
  inputs: readonly ModelInput[],
  context: FeedContext = {},
): Promise<FeedSource> {
  const parsed = typeof spec === 'string' ? parseProbeSpec(spec, context.imageOptions) : spec;
  if (inputs.length === 0) throw new WorkbenchError('BAD_MODEL', 'the model has no inputs to feed');
  if (parsed.kind === 'text') {
    const text = await openTextFeeds(parsed.path, inputs, {
      tokenizer: tokenizerFor(parsed, context),
      ...(context.maskInput !== undefined ? { maskInput: context.maskInput } : {}),
      ...(parsed.maxLength !== undefined ? { maxLength: parsed.maxLength } : {}),
    });
    try {
      checkExampleCount(text.spec, text.n, context.maxExamples);
    } catch (err) {
      await text.close();
      throw err;
    }
    return text;
  }
  const only = inputs.length === 1 ? inputs[0]! : null;
  const floatInput = only !== null && FLOAT_INPUTS.has(only.dtype);
  if (parsed.kind === 'npy' || parsed.kind === 'npz') {
    // A float model's one input keeps the float reader (uint8 images used as they are, float16
    // arrays); everything else goes through the per-input arrays and their lossless casts.
    if (floatInput && only.dtype === 'float32' && !(parsed.kind === 'npz' && parsed.key === undefined)) {
      return wrapFloat(parsed, only, context);
    }
    return openArrayFeeds(parsed, inputs, {
      ...(context.maskInput !== undefined ? { maskInput: context.maskInput } : {}),
      ...(context.maxExamples !== undefined ? { maxExamples: context.maxExamples } : {}),
    });
  }
  if (!floatInput) {
    const list = inputs.map((i) => `${i.name} ${i.dtype} ${formatShape(i.shape)}`).join(', ');
    throw new WorkbenchError(
      'UNSUPPORTED',
      `probe ${parsed.kind}: feeds one float input, but the model takes ${list}; give npz:FILE with one array per input name${inputs.some((i) => !FLOAT_INPUTS.has(i.dtype)) ? ', or text:FILE for token inputs' : ''}`,
    );
  }
  return wrapFloat(parsed, only, context);
}

async function wrapFloat(parsed: ProbeSpec, input: ModelInput, context: FeedContext): Promise<FeedSource> {
  const dtype = feedDType(input, 'probe') as 'float32' | 'float64' | 'float16';
  let spec = parsed;
  if (parsed.kind === 'images') {
    const own = await modelImageOptions(context.modelPath, context.modelsDir);
    spec = { ...parsed, options: { ...own, ...parsed.options } };
  }
  const probe = await openProbe(spec, { ...input, dtype: 'float32' }, context);
  return floatFeeds(probe, input, dtype, parsed.kind as ProbeSetEntry['kind']);
}
