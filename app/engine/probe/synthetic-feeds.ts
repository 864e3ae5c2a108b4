/**
 * Inputs made up for a model, to learn how its layers split into examples before any probe is
 * chosen (calibrateModel): Gaussian noise for float inputs (random-probe.ts), token id 1 with a
 * mask of ones for token inputs — batches of 5 and 6 tokens (fewer when the model fixes fewer),
 * so that axes following the length show — and zeros for other integer inputs. A float input with
 * a free size other than the batch cannot be made up: null, with the reason.
 */
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';
import { feedDType, isSequenceInput, maskInputOf } from './array-feeds.js';
import { allocateFeed, floatsAs } from './dtype-cast.js';
import { elementsOf, type FeedSource, type FeedTensor, type SequenceInfo } from './feeds.js';
import type { ModelInput } from './model-input.js';
import { gaussianExample } from './random-probe.js';

const EXAMPLES = 6;
const LENGTHS = [5, 6];

export function syntheticFeeds(
  inputs: readonly ModelInput[],
): { feeds: FeedSource; described: string } | { reason: string } {
  const sequences = inputs.filter((i) => isSequenceInput(i) && !i.dtype.startsWith('float'));
  for (const input of inputs) {
    const dims = input.shape.slice(1);
    if (sequences.includes(input) || dims.every((d) => typeof d === 'number')) continue;
    return {
      reason: `the input '${input.name}' ${formatShape(input.shape)} leaves a size free; calibrating it needs a probe set`,
    };
  }
  let mask: string | null;
  try {
    mask = maskInputOf(inputs, undefined, 'synthetic');
  } catch {
    mask = null;
  }
  const sequence: SequenceInfo | null =
    sequences.length > 0
      ? {
          inputs: sequences.map((i) => i.name),
          mask,
          maxLength: LENGTHS[1]!,
          capLength: LENGTHS[1]!,
          fixedLength: false,
        }
      : null;
  const lengthFor = (start: number) => (start === 0 ? LENGTHS[0]! : LENGTHS[1]!);
  const feeds: FeedSource = {
    spec: 'synthetic',
    kind: 'random',
    hash: 'synthetic',
    n: EXAMPLES,
    notes: [],
    inputs: inputs.map((i) => ({
      name: i.name,
      dtype: feedDType(i, 'synthetic inputs'),
      exampleShape: sequences.includes(i) ? [null] : (i.shape.slice(1) as number[]),
    })),
    sequence,
    validTokens: sequence ? new Int32Array(EXAMPLES).fill(LENGTHS[1]!) : null,
    tokenization: null,
    batchLength: (start) => (sequence ? lengthFor(start) : null),
    async read(start, count, options = {}) {
      const rows = Math.max(count, options.rows ?? count);
      const length = sequence ? Math.max(lengthFor(start), options.minLength ?? 0) : null;
      const tensors: FeedTensor[] = inputs.map((input) => {
        const dtype = feedDType(input, 'synthetic inputs');
        if (sequences.includes(input)) {
          const data = allocateFeed(dtype, rows * length!);
          const value = input.name === mask ? 1 : input.name === 'token_type_ids' ? 0 : 1;
          for (let i = 0; i < count * length!; i++) {
            if (data instanceof BigInt64Array || data instanceof BigUint64Array) data[i] = BigInt(value);
            else data[i] = value;
          }
          return { name: input.name, type: dtype, dims: [rows, length!], data };
        }
        const shape = input.shape.slice(1) as number[];
        const per = elementsOf(shape);
        if (dtype === 'float32' || dtype === 'float64' || dtype === 'float16') {
          const values = new Float32Array(rows * per);
          for (let k = 0; k < count; k++) gaussianExample(0, start + k, values.subarray(k * per, (k + 1) * per));
          return { name: input.name, type: dtype, dims: [rows, ...shape], data: floatsAs(values, dtype) };
        }
        return { name: input.name, type: dtype, dims: [rows, ...shape], data: allocateFeed(dtype, rows * per) };
      });
      const maskValues = sequence ? new Uint8Array(rows * length!).fill(1, 0, count * length!) : null;
      return { feeds: tensors, mask: maskValues, length };
    },
    close: async () => undefined,
  };
  if (inputs.length === 0) throw new WorkbenchError('BAD_MODEL', 'the model has no inputs');
  const described = inputs
    .map((i) =>
      sequences.includes(i)
        ? `${i.name}: ${i.name === mask ? 'ones' : 'token id 1'} of ${LENGTHS.join(' and ')} tokens`
        : `${i.name}: ${i.dtype.startsWith('float') ? 'Gaussian noise' : 'zeros'} ${formatShape(i.shape.slice(1))}`,
    )
    .join('; ');
  return { feeds, described };
}
