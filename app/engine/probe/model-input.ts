/**
 * The model input a probe set feeds, and the check that a probe's examples fit it. Mismatches
 * (rank, channels, spatial size) are one line that states both shapes.
 */
import type { Dim } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { formatShape } from '../../common/format.js';

export interface ModelInput {
  name: string;
  /** Including the batch axis; symbolic or null dims accept any size. */
  shape: Dim[];
  dtype: string;
}

/** The per-example part of the input shape (without the batch axis). */
export function exampleDims(input: ModelInput): Dim[] {
  return input.shape.slice(1);
}

/** Throws BAD_PROBE unless examples of `exampleShape` can be fed to `input`. */
export function checkExampleShape(probe: string, exampleShape: readonly number[], input: ModelInput): void {
  const want = exampleDims(input);
  const fits =
    want.length === exampleShape.length && want.every((d, i) => typeof d !== 'number' || d === exampleShape[i]);
  if (!fits) {
    throw new WorkbenchError(
      'BAD_PROBE',
      `probe ${probe} gives examples of shape ${formatShape(exampleShape)}, but the model input '${input.name}' ` +
        `takes ${formatShape(want)} per example (${formatShape(input.shape)} with the batch axis)`,
    );
  }
}

/** A fixed size everywhere but the batch axis, or an error naming the dimensions that are free. */
export function fixedExampleShape(probe: string, input: ModelInput): number[] {
  const dims = exampleDims(input);
  if (dims.every((d): d is number => typeof d === 'number')) return dims;
  throw new WorkbenchError(
    'BAD_PROBE',
    `probe ${probe} needs a fixed input shape, but the model input '${input.name}' is ${formatShape(input.shape)}`,
  );
}
