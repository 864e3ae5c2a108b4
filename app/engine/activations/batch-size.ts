/**
 * The default batch size, from memory: one batch's input and exposed activations live in the
 * runner process and in the host (IPC copies) — about `inFlight + 1` batches at a time on each
 * side — and should stay within a budget of a sixteenth of the machine's memory, at most 256 MiB.
 */
import { totalmem } from 'node:os';

export const MAX_DEFAULT_BATCH = 256;
export const MIN_BUDGET_BYTES = 32 * 2 ** 20;

export function defaultBatchSize(
  valuesPerExample: number,
  inFlight: number,
  n: number,
  memoryBytes = totalmem(),
): number {
  const budget = Math.max(MIN_BUDGET_BYTES, Math.min(256 * 2 ** 20, memoryBytes / 16));
  const bytesPerExample = 4 * Math.max(1, valuesPerExample) * 2 * (inFlight + 1);
  return Math.max(1, Math.min(MAX_DEFAULT_BATCH, n, Math.floor(budget / bytesPerExample)));
}
