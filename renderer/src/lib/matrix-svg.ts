/**
 * A similarity matrix as a standalone SVG figure: one rect per cell, layer names on both axes,
 * which model is which axis, a colorbar, hatched undefined cells and optional best-match markers.
 *
 * Pure and dependency-free (it imports only sibling pure modules and types), so the engine's CLI
 * could produce the same figure: pass `colors`, the 256 `#rrggbb` entries of a colormap.
 */
import type { SimilarityMatrix } from '@common/contract.js';
import { UNIT_RANGE, colorIndex, formatTick, hasValuesOutside, niceTicks, type ValueRange } from './color-scale.js';
import { MARKER_FILL, MARKER_RING, NULL_FILL, NULL_HATCH } from './heatmap-style.js';
import { bestMatchPerRow } from './matrix-lines.js';
import { modelTitle } from './model-names.js';

export interface SvgMatrix {
  /** rows × cols; null where undefined. */
  matrix: readonly (readonly (number | null)[])[];
  rowLabels: readonly string[];
  colLabels: readonly string[];
  /** Which model the rows show, e.g. "model A: resnet18". */
  rowTitle: string;
  colTitle: string;
}

export interface SvgOptions {
  /** The colormap: 256 `#rrggbb` entries, low to high. */
  colors: readonly string[];
  /** Values of the first and last colour (default [0, 1]); values outside get the end colours. */
  range?: ValueRange;
  /** A line above the plot, e.g. "linear CKA · 500 examples". */
  title?: string;
  /** What the colorbar measures (default "CKA"). */
  colorbarLabel?: string;
  /** Mark each row's highest value. */
  bestMatch?: boolean;
  /** Cell edge in px (default: fits the larger side into about 640 px, 2–28 px). */
  cellSize?: number;
}

const TEXT = '#1d1f23';
const MUTED = '#646a73';
const FONT_SIZE = 11;
/** Width of one label character at 11 px, close enough for a sans-serif font (no text metrics here). */
const CHAR_WIDTH = 6.3;
const MAX_LABEL_CHARS = 36;

export function svgMatrixFromSimilarity(m: SimilarityMatrix): SvgMatrix {
  return {
    matrix: m.matrix,
    rowLabels: m.rows.layers.map((l) => l.name),
    colLabels: m.cols.layers.map((l) => l.name),
    rowTitle: modelTitle(m.rows.model, m.rows.label),
    colTitle: modelTitle(m.cols.model, m.cols.label),
  };
}

export function matrixToSvg(input: SvgMatrix, options: SvgOptions): string {
  const rows = input.rowLabels.length;
  const cols = input.colLabels.length;
  if (input.matrix.length !== rows || input.matrix.some((row) => row.length !== cols)) {
    throw new Error(`the matrix is not ${rows} × ${cols} as its labels say`);
  }
  if (options.colors.length < 2) throw new Error('a colormap needs at least two colours');
  const range = options.range ?? UNIT_RANGE;
  const cell = options.cellSize ?? Math.min(28, Math.max(2, Math.round(640 / Math.max(rows, cols, 1))));
  const labelStep = Math.ceil((FONT_SIZE + 1) / cell);
  const rowLabels = input.rowLabels.map(truncate);
  const colLabels = input.colLabels.map(truncate);
  const rowLabelWidth = Math.ceil(longest(rowLabels) * CHAR_WIDTH);
  const colLabelWidth = Math.ceil(longest(colLabels) * CHAR_WIDTH);

  const titleBand = options.title ? 26 : 8;
  const axisTitleBand = 18;
  const plot = { x: axisTitleBand + rowLabelWidth + 8, y: titleBand, w: cols * cell, h: rows * cell };
  const bar = { x: plot.x + plot.w + 18, y: plot.y, w: 14, h: Math.max(plot.h, 120) };
  const flat = input.matrix.flat().map((v) => v ?? NaN);
  const clamped = hasValuesOutside(flat, range);
  const width = Math.ceil(bar.x + bar.w + (clamped ? 110 : 70));
  const height = Math.ceil(Math.max(plot.y + plot.h, bar.y + bar.h) + 8 + colLabelWidth + axisTitleBand + 8);

  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif" font-size="${FONT_SIZE}">`,
    '<defs><pattern id="undefined-cell" width="6" height="6" patternUnits="userSpaceOnUse" ' +
      `patternTransform="rotate(45)"><rect width="6" height="6" fill="${NULL_FILL}"/>` +
      `<line x1="0" y1="0" x2="0" y2="6" stroke="${NULL_HATCH}" stroke-width="2"/></pattern></defs>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
  );
  if (options.title) {
    out.push(`<text x="${plot.x}" y="17" fill="${TEXT}" font-size="13" font-weight="600">${xml(options.title)}</text>`);
  }

  // Cells: one rect each, crisp edges so neighbours do not bleed into each other.
  out.push('<g shape-rendering="crispEdges">');
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = flat[r * cols + c]!;
      const fill = Number.isNaN(v)
        ? 'url(#undefined-cell)'
        : options.colors[scaledIndex(v, range, options.colors.length)];
      out.push(
        `<rect x="${plot.x + c * cell}" y="${plot.y + r * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`,
      );
    }
  }
  out.push('</g>');
  out.push(
    `<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="${MUTED}" stroke-width="0.5"/>`,
  );

  if (options.bestMatch) {
    const best = bestMatchPerRow(Float64Array.from(flat), rows, cols);
    const radius = Math.max(1, Math.min(6, cell * 0.28));
    out.push(`<g fill="${MARKER_FILL}" stroke="${MARKER_RING}" stroke-width="1">`);
    best.forEach((c, r) => {
      if (c < 0) return;
      out.push(`<circle cx="${plot.x + (c + 0.5) * cell}" cy="${plot.y + (r + 0.5) * cell}" r="${round(radius)}"/>`);
    });
    out.push('</g>');
  }

  // Layer names: every labelStep-th one when cells are smaller than the text.
  out.push(`<g fill="${TEXT}">`);
  for (let r = 0; r < rows; r += labelStep) {
    out.push(
      `<text x="${plot.x - 5}" y="${round(plot.y + (r + 0.5) * cell)}" text-anchor="end" dominant-baseline="central">${xml(rowLabels[r]!)}</text>`,
    );
  }
  for (let c = 0; c < cols; c += labelStep) {
    const x = round(plot.x + (c + 0.5) * cell);
    const y = plot.y + plot.h + 5;
    out.push(
      `<text transform="translate(${x} ${y}) rotate(-90)" text-anchor="end" dominant-baseline="central">${xml(colLabels[c]!)}</text>`,
    );
  }
  out.push('</g>');

  // Which model is which axis.
  const rowTitleY = round(plot.y + plot.h / 2);
  out.push(
    `<text transform="translate(12 ${rowTitleY}) rotate(-90)" text-anchor="middle" fill="${TEXT}" font-weight="600">rows: ${xml(input.rowTitle)}</text>`,
    `<text x="${round(plot.x + plot.w / 2)}" y="${height - 10}" text-anchor="middle" fill="${TEXT}" font-weight="600">columns: ${xml(input.colTitle)}</text>`,
  );

  out.push(...colorbar(bar, range, options, clamped));
  out.push('</svg>');
  return out.join('\n');
}

function colorbar(
  bar: { x: number; y: number; w: number; h: number },
  range: ValueRange,
  options: SvgOptions,
  clamped: boolean,
): string[] {
  const n = options.colors.length;
  const step = bar.h / n;
  const out = ['<g shape-rendering="crispEdges">'];
  // Highest value at the top.
  options.colors.forEach((color, i) => {
    const y = bar.y + bar.h - (i + 1) * step;
    out.push(`<rect x="${bar.x}" y="${round(y)}" width="${bar.w}" height="${round(step + 0.5)}" fill="${color}"/>`);
  });
  out.push('</g>');
  out.push(
    `<rect x="${bar.x}" y="${bar.y}" width="${bar.w}" height="${bar.h}" fill="none" stroke="${MUTED}" stroke-width="0.5"/>`,
  );
  const span = range[1] - range[0];
  for (const tick of niceTicks(range)) {
    const y = round(bar.y + bar.h - ((tick - range[0]) / span) * bar.h);
    out.push(
      `<line x1="${bar.x + bar.w}" y1="${y}" x2="${bar.x + bar.w + 4}" y2="${y}" stroke="${MUTED}"/>`,
      `<text x="${bar.x + bar.w + 7}" y="${y}" dominant-baseline="central" fill="${TEXT}">${formatTick(tick)}</text>`,
    );
  }
  const label = options.colorbarLabel ?? 'CKA';
  out.push(
    `<text transform="translate(${bar.x + bar.w + 52} ${round(bar.y + bar.h / 2)}) rotate(-90)" text-anchor="middle" fill="${MUTED}">${xml(label)}</text>`,
  );
  if (clamped) {
    out.push(
      `<text x="${bar.x}" y="${bar.y + bar.h + 14}" fill="${MUTED}" font-size="9">values outside are clamped</text>`,
    );
  }
  return out;
}

/** colorIndex for a table of any length (the shared helper assumes 256 entries). */
function scaledIndex(value: number, range: ValueRange, size: number): number {
  return size === 256 ? colorIndex(value, range) : Math.round((colorIndex(value, range) / 255) * (size - 1));
}

function truncate(label: string): string {
  return label.length > MAX_LABEL_CHARS ? `${label.slice(0, MAX_LABEL_CHARS - 1)}…` : label;
}

function longest(labels: readonly string[]): number {
  return labels.reduce((max, l) => Math.max(max, l.length), 0);
}

function round(value: number): number {
  return Math.round(value * 100) / 100;
}

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}
