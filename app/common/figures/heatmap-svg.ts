/**
 * A matrix figure as a standalone SVG: one rect per cell, layer names on both axes, which model is
 * which axis, a title line, a colour bar with its label, hatched undefined cells and optional
 * best-match markers. The one drawing of the figure: the page's SVG and PNG exports and
 * `runs export --format svg` all come from here, so the same inputs give the same bytes.
 */
import { bestMatchPerRow } from './best-match.js';
import { colorbarSvg } from './colorbar-svg.js';
import { UNIT_RANGE, colorIndex, formatTick, hasValuesOutside, niceTicks, type ValueRange } from './color-scale.js';
import { colormapTable, type ColormapName } from './colormaps.js';
import { colLeft, layoutHeatmap, rowTop, type HeatmapLayout } from './heatmap-layout.js';
import {
  FIGURE_BACKGROUND,
  FIGURE_FONT_FAMILY,
  FIGURE_MUTED,
  FIGURE_TEXT,
  MARKER_FILL,
  MARKER_RING,
  NULL_FILL,
  NULL_HATCH,
} from './heatmap-style.js';
import type { MatrixFigure } from './matrix-figure.js';
import { round2, xmlEscape } from './svg-markup.js';
import { shortenLabel } from './text-extent.js';

export type HeatmapSvgInput = Pick<MatrixFigure, 'values' | 'rows' | 'cols' | 'title' | 'valueLabel'>;

export interface HeatmapSvgOptions {
  /** Default viridis. */
  colormap?: ColormapName;
  /** Values of the first and last colour (default [0, 1]); values outside get the end colours. */
  range?: ValueRange;
  /** Mark each row's highest value. */
  bestMatch?: boolean;
  /** Cell edge in px when no width is given (default: the larger side fits into about 640 px). */
  cellSize?: number;
  /** Px of labels and axis titles (default 11). */
  fontSize?: number;
  /** The figure's width in px (default: what the cells need). */
  width?: number;
  /** Square cells (default) or a square plot. */
  squareCells?: boolean;
  /** Row 0 at the top (default) or at the bottom. */
  origin?: 'top' | 'bottom';
  /** Layer names on the axes (default), or their positions 1, 2, … */
  axisLabels?: 'names' | 'indices';
}

/** Longer layer names are shortened in the middle (their ends tell layers apart). */
const MAX_LABEL_CHARS = 64;
const CLAMPED_NOTE = 'values outside are clamped';

/** Position 1, 2, … of each layer on an axis. */
export function indexLabels(count: number): string[] {
  return Array.from({ length: count }, (_, i) => String(i + 1));
}

export function heatmapSvg(figure: HeatmapSvgInput, options: HeatmapSvgOptions = {}): string {
  const rows = figure.rows.labels.length;
  const cols = figure.cols.labels.length;
  if (figure.values.length !== rows || figure.values.some((row) => row.length !== cols)) {
    throw new Error(`the matrix is not ${rows} × ${cols} as its labels say`);
  }
  const colors = colormapTable(options.colormap ?? 'viridis').hex;
  const range = options.range ?? UNIT_RANGE;
  const flat = Float64Array.from(figure.values.flat(), (v) => v ?? NaN);
  const ticks = niceTicks(range);
  const byIndex = options.axisLabels === 'indices';
  const rowLabels = byIndex ? indexLabels(rows) : figure.rows.labels.map((l) => shortenLabel(l, MAX_LABEL_CHARS));
  const colLabels = byIndex ? indexLabels(cols) : figure.cols.labels.map((l) => shortenLabel(l, MAX_LABEL_CHARS));
  const rowTitle = `rows: ${figure.rows.title}${byIndex ? ' (layer 1, 2, …)' : ''}`;
  const colTitle = `columns: ${figure.cols.title}${byIndex ? ' (layer 1, 2, …)' : ''}`;
  const layout = layoutHeatmap({
    rows,
    cols,
    rowLabels,
    colLabels,
    rowTitle,
    colTitle,
    title: figure.title,
    colorbarLabel: figure.valueLabel,
    tickLabels: ticks.map(formatTick),
    note: hasValuesOutside(flat, range) ? CLAMPED_NOTE : null,
    fontSize: options.fontSize ?? 11,
    ...(options.cellSize === undefined ? {} : { cellSize: options.cellSize }),
    ...(options.width === undefined ? {} : { width: options.width }),
    ...(options.squareCells === undefined ? {} : { squareCells: options.squareCells }),
    ...(options.origin === undefined ? {} : { origin: options.origin }),
  });
  const { width, height, plot } = layout;

  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ` +
      `font-family="${FIGURE_FONT_FAMILY}" font-size="${layout.fontSize}">`,
    '<defs><pattern id="undefined-cell" width="6" height="6" patternUnits="userSpaceOnUse" ' +
      `patternTransform="rotate(45)"><rect width="6" height="6" fill="${NULL_FILL}"/>` +
      `<line x1="0" y1="0" x2="0" y2="6" stroke="${NULL_HATCH}" stroke-width="2"/></pattern></defs>`,
    `<rect width="${width}" height="${height}" fill="${FIGURE_BACKGROUND}"/>`,
  ];
  for (const line of layout.title) {
    out.push(
      `<text x="${line.x}" y="${line.y}" fill="${FIGURE_TEXT}" font-size="${layout.titleFontSize}" font-weight="600">${xmlEscape(line.text)}</text>`,
    );
  }
  out.push(...cells(layout, flat, rows, cols, colors, range));
  out.push(
    `<rect x="${plot.x}" y="${plot.y}" width="${round2(plot.w)}" height="${round2(plot.h)}" fill="none" stroke="${FIGURE_MUTED}" stroke-width="0.5"/>`,
  );
  if (options.bestMatch) out.push(...markers(layout, bestMatchPerRow(flat, rows, cols)));
  out.push(...layerNames(layout, rowLabels, colLabels));
  out.push(...axisTitles(layout));
  out.push(
    ...colorbarSvg(layout, {
      colors,
      range,
      ticks,
      label: figure.valueLabel,
      note: layout.note ? CLAMPED_NOTE : null,
    }),
  );
  out.push('</svg>');
  return out.join('\n');
}

/** One rect per cell, crisp edges so neighbours do not bleed into each other. */
function cells(
  layout: HeatmapLayout,
  flat: Float64Array,
  rows: number,
  cols: number,
  colors: readonly string[],
  range: ValueRange,
): string[] {
  const out = ['<g shape-rendering="crispEdges">'];
  // Each edge rounded on its own, so neighbours meet exactly whatever the cell size.
  const xs = Array.from({ length: cols + 1 }, (_, c) => round2(colLeft(layout, c)));
  for (let r = 0; r < rows; r++) {
    const y0 = round2(rowTop(layout, r));
    const h = round2(y0 + layout.cellH) - y0;
    for (let c = 0; c < cols; c++) {
      const v = flat[r * cols + c]!;
      const fill = Number.isNaN(v) ? 'url(#undefined-cell)' : colors[colorIndex(v, range)];
      out.push(
        `<rect x="${xs[c]}" y="${y0}" width="${round2(xs[c + 1]! - xs[c]!)}" height="${round2(h)}" fill="${fill}"/>`,
      );
    }
  }
  out.push('</g>');
  return out;
}

function markers(layout: HeatmapLayout, best: Int32Array): string[] {
  const { cellW, cellH } = layout;
  const radius = round2(Math.max(1, Math.min(6, Math.min(cellW, cellH) * 0.28)));
  const out = [`<g fill="${MARKER_FILL}" stroke="${MARKER_RING}" stroke-width="1">`];
  best.forEach((c, r) => {
    if (c < 0) return;
    out.push(
      `<circle cx="${round2(colLeft(layout, c) + cellW / 2)}" cy="${round2(rowTop(layout, r) + cellH / 2)}" r="${radius}"/>`,
    );
  });
  out.push('</g>');
  return out;
}

/** Every k-th layer name when cells are smaller than the text. */
function layerNames(layout: HeatmapLayout, rowLabels: readonly string[], colLabels: readonly string[]): string[] {
  const { cellW, cellH } = layout;
  const out = [`<g fill="${FIGURE_TEXT}">`];
  for (let r = 0; r < rowLabels.length; r += layout.rowLabelStep) {
    out.push(
      `<text x="${layout.rowLabelX}" y="${round2(rowTop(layout, r) + cellH / 2)}" text-anchor="end" dominant-baseline="central">${xmlEscape(rowLabels[r]!)}</text>`,
    );
  }
  for (let c = 0; c < colLabels.length; c += layout.colLabelStep) {
    const x = round2(colLeft(layout, c) + cellW / 2);
    out.push(
      `<text transform="translate(${x} ${layout.colLabelY}) rotate(-90)" text-anchor="end" dominant-baseline="central">${xmlEscape(colLabels[c]!)}</text>`,
    );
  }
  out.push('</g>');
  return out;
}

/** Which model is which axis. */
function axisTitles(layout: HeatmapLayout): string[] {
  const bold = `fill="${FIGURE_TEXT}" font-weight="600"`;
  const out: string[] = [];
  if (layout.rowTitle.along) {
    const { x, y, text } = layout.rowTitle.line;
    out.push(
      `<text transform="translate(${x} ${round2(y)}) rotate(-90)" text-anchor="middle" ${bold}>${xmlEscape(text)}</text>`,
    );
  } else {
    for (const { x, y, text } of layout.rowTitle.lines)
      out.push(`<text x="${x}" y="${y}" ${bold}>${xmlEscape(text)}</text>`);
  }
  for (const { x, y, text } of layout.colTitle) {
    out.push(`<text x="${round2(x)}" y="${y}" text-anchor="middle" ${bold}>${xmlEscape(text)}</text>`);
  }
  return out;
}
