/**
 * A similarity matrix as a standalone SVG heatmap for papers and slides: one rect per cell
 * (viridis, 0 → 1 unless the values leave that range), layer names on both axes, which model is
 * which axis, a colorbar, and hatched cells where the value is undefined. Text from model files
 * (layer names, labels) is escaped.
 */
import { VIRIDIS } from './viridis.js';

export interface SvgHeatmap {
  /** rows × cols; null where undefined. */
  matrix: readonly (readonly (number | null)[])[];
  rowLabels: readonly string[];
  colLabels: readonly string[];
  rowTitle: string;
  colTitle: string;
  title: string;
  colorbarLabel?: string;
}

const FONT = 11;
/** Widths of one character at 11 px and of the 13 px bold title (no text metrics here; close enough for sans-serif). */
const CHAR_WIDTH = 6.3;
const TITLE_CHAR_WIDTH = 7.8;
const MAX_LABEL = 36;
const TEXT = '#1d1f23';
const MUTED = '#646a73';

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);
}

function truncate(label: string): string {
  return label.length > MAX_LABEL ? `${label.slice(0, MAX_LABEL - 1)}…` : label;
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

/** [lo, hi] of the colour scale: [0, 1], widened to the data when values fall outside. */
export function colourRange(matrix: readonly (readonly (number | null)[])[]): [number, number] {
  let lo = 0;
  let hi = 1;
  for (const row of matrix) {
    for (const v of row) {
      if (v === null || !Number.isFinite(v)) continue;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return [lo, hi];
}

function colourOf(v: number, [lo, hi]: [number, number]): string {
  const t = hi > lo ? (v - lo) / (hi - lo) : 0;
  return VIRIDIS[Math.min(255, Math.max(0, Math.round(t * 255)))]!;
}

export function heatmapSvg(input: SvgHeatmap): string {
  const rows = input.rowLabels.length;
  const cols = input.colLabels.length;
  const cell = Math.min(28, Math.max(2, Math.round(640 / Math.max(rows, cols, 1))));
  const labelStep = Math.ceil((FONT + 1) / cell);
  const rowLabels = input.rowLabels.map(truncate);
  const colLabels = input.colLabels.map(truncate);
  const longest = (labels: string[]) => labels.reduce((m, l) => Math.max(m, l.length), 0);
  const rowLabelWidth = Math.ceil(longest(rowLabels) * CHAR_WIDTH);
  const colLabelWidth = Math.ceil(longest(colLabels) * CHAR_WIDTH);
  const range = colourRange(input.matrix);

  // The row title runs along the rows when they are tall enough for it, else above them.
  const rowTitle = `rows: ${input.rowTitle}`;
  const rowTitleAlong = rows * cell >= rowTitle.length * CHAR_WIDTH + 10;
  const left = rowTitleAlong ? 18 : 8;
  const plot = { x: left + rowLabelWidth + 8, y: rowTitleAlong ? 30 : 48, w: cols * cell, h: rows * cell };
  const bar = { x: plot.x + plot.w + 18, y: plot.y, w: 14, h: Math.max(plot.h, 120) };
  const colTitleY = plot.y + plot.h + 5 + colLabelWidth + 18;
  const colTitle = `columns: ${input.colTitle}`;
  const colTitleX = Math.max(plot.x + plot.w / 2, left + (colTitle.length * CHAR_WIDTH) / 2);
  const width = Math.ceil(
    Math.max(
      bar.x + bar.w + 70,
      plot.x + rowTitle.length * CHAR_WIDTH,
      plot.x + input.title.length * TITLE_CHAR_WIDTH,
      colTitleX + (colTitle.length * CHAR_WIDTH) / 2 + 8,
    ),
  );
  const height = Math.ceil(Math.max(colTitleY + 10, bar.y + bar.h + 12));

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="${FONT}">`,
    '<defs><pattern id="undefined-cell" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
      '<rect width="6" height="6" fill="#e6e7ea"/><line x1="0" y1="0" x2="0" y2="6" stroke="#b4b7bd" stroke-width="2"/></pattern></defs>',
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="${plot.x}" y="18" fill="${TEXT}" font-size="13" font-weight="600">${xmlEscape(input.title)}</text>`,
    '<g shape-rendering="crispEdges">',
  ];
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const v = input.matrix[r]![c];
      const fill = v === null || v === undefined || !Number.isFinite(v) ? 'url(#undefined-cell)' : colourOf(v, range);
      out.push(
        `<rect x="${plot.x + c * cell}" y="${plot.y + r * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`,
      );
    }
  }
  out.push('</g>');
  out.push(`<g fill="${TEXT}">`);
  for (let r = 0; r < rows; r += labelStep) {
    out.push(
      `<text x="${plot.x - 5}" y="${round(plot.y + (r + 0.5) * cell)}" text-anchor="end" dominant-baseline="central">${xmlEscape(rowLabels[r]!)}</text>`,
    );
  }
  for (let c = 0; c < cols; c += labelStep) {
    const x = round(plot.x + (c + 0.5) * cell);
    out.push(
      `<text transform="translate(${x} ${plot.y + plot.h + 5}) rotate(-90)" text-anchor="end" dominant-baseline="central">${xmlEscape(colLabels[c]!)}</text>`,
    );
  }
  out.push('</g>');
  out.push(
    rowTitleAlong
      ? `<text transform="translate(12 ${round(plot.y + plot.h / 2)}) rotate(-90)" text-anchor="middle" fill="${TEXT}" font-weight="600">${xmlEscape(rowTitle)}</text>`
      : `<text x="${left}" y="${plot.y - 8}" fill="${TEXT}" font-weight="600">${xmlEscape(rowTitle)}</text>`,
    `<text x="${round(colTitleX)}" y="${colTitleY}" text-anchor="middle" fill="${TEXT}" font-weight="600">${xmlEscape(colTitle)}</text>`,
  );
  // Colorbar, highest value at the top.
  const step = bar.h / VIRIDIS.length;
  out.push('<g shape-rendering="crispEdges">');
  VIRIDIS.forEach((colour, i) => {
    out.push(
      `<rect x="${bar.x}" y="${round(bar.y + bar.h - (i + 1) * step)}" width="${bar.w}" height="${round(step + 0.5)}" fill="${colour}"/>`,
    );
  });
  out.push('</g>');
  const [lo, hi] = range;
  for (let k = 0; k <= 4; k++) {
    const value = lo + ((hi - lo) * k) / 4;
    const y = round(bar.y + bar.h - (k / 4) * bar.h);
    out.push(
      `<line x1="${bar.x + bar.w}" y1="${y}" x2="${bar.x + bar.w + 4}" y2="${y}" stroke="${MUTED}"/>`,
      `<text x="${bar.x + bar.w + 7}" y="${y}" dominant-baseline="central" fill="${TEXT}">${round(value)}</text>`,
    );
  }
  out.push(
    `<text transform="translate(${bar.x + bar.w + 52} ${round(bar.y + bar.h / 2)}) rotate(-90)" text-anchor="middle" fill="${MUTED}">${xmlEscape(input.colorbarLabel ?? 'CKA')}</text>`,
    '</svg>',
  );
  return out.join('\n') + '\n';
}
