/** Opens any probe spec against a model input (see ./spec.ts for the syntax). */
import { WorkbenchError } from '../../common/errors.js';
import { openNpyProbe, openNpzProbe } from './array-probe.js';
import { openFashionMnistProbe } from './fashion-mnist.js';
import { openImageProbe } from './image-probe.js';
import { type ModelInput } from './model-input.js';
import { formatShape } from '../../common/format.js';
import { openRandomProbe } from './random-probe.js';
import {
  MAX_VALUES_PER_EXAMPLE,
  checkExampleCount,
  elementsPerExample,
  formatValueCount,
  type ProbeSource,
} from './source.js';
import { parseProbeSpec, type ImageOptions, type ProbeSpec } from './spec.js';

export interface ProbeContext {
  /** Where `models/zoo.json` and the built-in probe live (default: the repository's models/). */
  modelsDir?: string;
  /** Image options given apart from the spec text (CLI flags); they win over the spec's query. */
  imageOptions?: ImageOptions;
  /** The most examples a probe may have (default DEFAULT_MAX_PROBE_EXAMPLES). */
  maxExamples?: number;
}

export async function openProbe(
  spec: string | ProbeSpec,
  input: ModelInput,
  context: ProbeContext = {},
): Promise<ProbeSource> {
  if (input.dtype !== 'float32') {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `the model input '${input.name}' takes ${input.dtype} values; probe sets feed float32 inputs only`,
    );
  }
  const parsed = typeof spec === 'string' ? parseProbeSpec(spec, context.imageOptions) : spec;
  const probe = await openParsed(parsed, input, context);
  try {
    checkExampleCount(probe.spec, probe.n, context.maxExamples);
  } catch (err) {
    await probe.close();
    throw err;
  }
  const values = elementsPerExample(probe.exampleShape);
  if (!(values <= MAX_VALUES_PER_EXAMPLE)) {
    await probe.close();
    throw new WorkbenchError(
      'OUT_OF_MEMORY',
      `probe ${probe.spec}: one example for the model input '${input.name}' ${formatShape(input.shape)} would be ` +
        `${formatValueCount(values)}; the workbench takes at most ${formatValueCount(MAX_VALUES_PER_EXAMPLE)} per example`,
    );
  }
  return probe;
}

function openParsed(parsed: ProbeSpec, input: ModelInput, context: ProbeContext): Promise<ProbeSource> | ProbeSource {
  switch (parsed.kind) {
    case 'fashion-mnist':
      return openFashionMnistProbe(parsed.n, input, context.modelsDir);
    case 'npy':
      return openNpyProbe(parsed.path, input, context.maxExamples);
    case 'npz':
      return openNpzProbe(parsed.path, parsed.key, input, context.maxExamples);
    case 'images':
      return openImageProbe(parsed.dir, parsed.options, input, context.maxExamples);
    case 'random':
      return openRandomProbe(parsed.n, parsed.seed, input);
    case 'text':
      throw new WorkbenchError('INTERNAL', 'text probes are opened by open-feeds.ts');
  }
}
