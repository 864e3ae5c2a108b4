/** Parsing of numeric command-line options, with errors that name the option. */
import { WorkbenchError } from '../common/errors.js';

/** `text` as an integer ≥ `min`, or undefined when the option was not given. */
export function integerOption(text: string | undefined, what: string, min: number): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min) {
    throw new WorkbenchError('BAD_INPUT', `${what} must be an integer ≥ ${min}, got '${text}'`);
  }
  return value;
}
