/** The numbers of a heatmap as files: CSV (a table people open in a spreadsheet) and JSON. */
import type { HeatmapData } from '../charts/heatmap-data.js';

/**
 * rows × cols with a header row of column layer names and a first column of row layer names; the
 * corner cell says which model is which axis. Values are written in full precision (they parse
 * back to the same doubles); undefined cells are empty.
 */
export function heatmapToCsv(data: Pick<HeatmapData, 'rows' | 'cols' | 'values'>): string {
  const cols = data.cols.labels.length;
  const lines = [[`rows: ${data.rows.title} \\ columns: ${data.cols.title}`, ...data.cols.labels].map(csvText)];
  data.rows.labels.forEach((label, r) => {
    const cells = [csvText(label)];
    for (let c = 0; c < cols; c++) {
      const v = data.values[r * cols + c]!;
      cells.push(Number.isNaN(v) ? '' : String(v));
    }
    lines.push(cells);
  });
  return lines.map((cells) => cells.join(',')).join('\n') + '\n';
}

/**
 * A text cell, quoted when it holds a separator, quote or line break. Layer names come from model
 * files, i.e. from strangers: one that starts like a spreadsheet formula gets a leading apostrophe
 * so a spreadsheet shows it instead of evaluating it.
 */
export function csvText(text: string): string {
  const safe = /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}

/**
 * A file name stem from free text: letters, digits, dot, dash and underscore only, never starting
 * with a dot (a hidden file). The engine's exports name files the same way (export-result.ts;
 * the renderer cannot import it: a test keeps the two equal).
 */
export function fileStem(text: string, fallback = 'matrix'): string {
  const stem = text
    .replace(/\.onnx\b/gi, '')
    .replace(/[^A-Za-z0-9._-]+/g, '_')
    .replace(/^[_.]+|_+$/g, '');
  return stem.slice(0, 120) || fallback;
}
