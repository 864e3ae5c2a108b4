/** Shared CLI output: plain tables, human sizes, and the one-line error + exit code convention. */
import { WorkbenchError, errorLine, toErrorData } from '../common/errors.js';
import type { Dim } from '../common/contract.js';
import { formatShape as formatShapeText } from '../common/format.js';

/** A shape for the terminal: `[batch, 4, 28, 28]`, or `?` when it is not known. */
export function formatShape(shape: Dim[] | null): string {
  return formatShapeText(shape, '?');
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) => (c === cells.length - 1 ? cell : cell.padEnd(widths[c]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

/** The command line's option for each engine setting an error may name (its `details.setting`). */
const SETTING_FLAGS: Record<string, string> = {
  maxProbeExamples: '--max-probe-examples',
};

/** An engine message naming a setting names the flag that sets it too: "(raise … with X)" → "(… with --flag or X)". */
export function withSettingFlag(err: unknown): unknown {
  const data = toErrorData(err);
  const setting = data.details?.setting;
  const flag = typeof setting === 'string' ? SETTING_FLAGS[setting] : undefined;
  if (!flag) return err;
  const message = data.message.replace(/ with ([A-Z_]+)\)$/, ` with ${flag} or $1)`);
  return new WorkbenchError(data.code, message === data.message ? `${data.message} (${flag})` : message, data.details);
}

/** Prints `cka-workbench: error: MESSAGE` (no stack trace) and sets exit code 1. */
export function reportError(err: unknown): void {
  process.stderr.write(`${errorLine(withSettingFlag(err))}\n`);
  process.exitCode = 1;
}
