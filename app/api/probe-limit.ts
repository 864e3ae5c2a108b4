/** The probe size cap as the shells configure it: an option, or CKA_WORKBENCH_MAX_PROBE_EXAMPLES. */
import { WorkbenchError } from '../common/errors.js';

export const MAX_PROBE_EXAMPLES_ENV = 'CKA_WORKBENCH_MAX_PROBE_EXAMPLES';

/** A cap given as text (a flag, the environment): an integer ≥ 1, or BAD_INPUT naming where it came from. */
export function parseMaxProbeExamples(text: string, what: string): number {
  const value = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < 1) {
    throw new WorkbenchError('BAD_INPUT', `${what} must be a whole number of examples ≥ 1, got '${text}'`);
  }
  return value;
}

/** The cap the environment sets, if any. */
export function maxProbeExamplesFromEnv(env: NodeJS.ProcessEnv = process.env): number | undefined {
  const text = env[MAX_PROBE_EXAMPLES_ENV];
  return text === undefined || text === '' ? undefined : parseMaxProbeExamples(text, MAX_PROBE_EXAMPLES_ENV);
}
