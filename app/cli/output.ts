/** Shared CLI output: plain tables, human sizes, and the one-line error + exit code convention. */
import { errorLine } from '../common/errors.js';
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

/** Prints `cka-workbench: error: MESSAGE` (no stack trace) and sets exit code 1. */
export function reportError(err: unknown): void {
  process.stderr.write(`${errorLine(err)}\n`);
  process.exitCode = 1;
}
