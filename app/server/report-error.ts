import { errorLine } from '../common/errors.js';

/** Prints `cka-workbench: error: MESSAGE` (no stack trace) and sets exit code 1, as the CLI does. */
export function reportError(err: unknown): void {
  process.stderr.write(`${errorLine(err)}\n`);
  process.exitCode = 1;
}
