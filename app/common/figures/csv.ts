/** A matrix as CSV: a table people open in a spreadsheet, with every digit of every value. */
import type { FigureAxis } from './matrix-figure.js';

/**
 * A text cell, quoted when it holds a separator, quote or line break. Layer names come from model
 * files, i.e. from strangers: one that starts like a spreadsheet formula gets a leading apostrophe
 * so a spreadsheet shows it instead of evaluating it.
 */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/**
 * rows × cols with a header row of column layer names and a first column of row layer names; the
 * corner cell says which model is which axis. Values are written in full precision (they parse
 * back to the same doubles); undefined cells are empty.
 */
export function matrixCsv(figure: {
  values: readonly (readonly (number | null)[])[];
  rows: FigureAxis;
  cols: FigureAxis;
}): string {
  const header = [`rows: ${figure.rows.title} \\ columns: ${figure.cols.title}`, ...figure.cols.labels];
  const lines = [header.map(csvText)];
  figure.rows.labels.forEach((label, r) => {
    const row = figure.values[r] ?? [];
    const cells = [csvText(label)];
    for (let c = 0; c < figure.cols.labels.length; c++) {
      const v = row[c];
      cells.push(v === null || v === undefined || Number.isNaN(v) ? '' : String(v));
    }
    lines.push(cells);
  });
  return lines.map((cells) => cells.join(',')).join('\n') + '\n';
}
