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
  /** Cell edge in px (default: the larger side fits into about 640 px). */
  cellSize?: number;
  /** Px of labels and axis titles (default 11). */
  fontSize?: number;
}

/** Longer layer names are shortened with an ellipsis. */
const MAX_LABEL_CHARS = 36;
const CLAMPED_NOTE = 'values outside are clamped';

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
  const rowLabels = figure.rows.labels.map((l) => shortenLabel(l, MAX_LABEL_CHARS));
  const colLabels = figure.cols.labels.map((l) => shortenLabel(l, MAX_LABEL_CHARS));
  const layout = layoutHeatmap({
    rows,
    cols,
    rowLabels,
    colLabels,
    rowTitle: `rows: ${figure.rows.title}`,
    colTitle: `columns: ${figure.cols.title}`,
    title: figure.title,
    colorbarLabel: figure.valueLabel,
    tickLabels: ticks.map(formatTick),
    note: hasValuesOutside(flat, range) ? CLAMPED_NOTE : null,
    fontSize: options.fontSize ?? 11,
    ...(options.cellSize === undefined ? {} : { cellSize: options.cellSize }),
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
  if (layout.title) {
    out.push(
      `<text x="${layout.title.x}" y="${layout.title.y}" fill="${FIGURE_TEXT}" font-size="${layout.titleFontSize}" font-weight="600">${xmlEscape(figure.title)}</text>`,
    );
  }
  out.push(...cells(layout, flat, rows, cols, colors, range));
  out.push(
    `<rect x="${plot.x}" y="${plot.y}" width="${plot.w}" height="${plot.h}" fill="none" stroke="${FIGURE_MUTED}" stroke-width="0.5"/>`,
  );
  if (options.bestMatch) out.push(...markers(layout, bestMatchPerRow(flat, rows, cols)));
  out.push(...layerNames(layout, rowLabels, colLabels));
  out.push(...axisTitles(layout, figure));
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
  const { cell } = layout;
  for (let r = 0; r < rows; r++) {
    const y = rowTop(layout, r);
    for (let c = 0; c < cols; c++) {
      const v = flat[r * cols + c]!;
      const fill = Number.isNaN(v) ? 'url(#undefined-cell)' : colors[colorIndex(v, range)];
      out.push(`<rect x="${colLeft(layout, c)}" y="${y}" width="${cell}" height="${cell}" fill="${fill}"/>`);
    }
  }
  out.push('</g>');
  return out;
}

function markers(layout: HeatmapLayout, best: Int32Array): string[] {
  const { cell } = layout;
  const radius = round2(Math.max(1, Math.min(6, cell * 0.28)));
  const out = [`<g fill="${MARKER_FILL}" stroke="${MARKER_RING}" stroke-width="1">`];
  best.forEach((c, r) => {
    if (c < 0) return;
    out.push(`<circle cx="${colLeft(layout, c) + cell / 2}" cy="${rowTop(layout, r) + cell / 2}" r="${radius}"/>`);
  });
  out.push('</g>');
  return out;
}

/** Every labelStep-th layer name when cells are smaller than the text. */
function layerNames(layout: HeatmapLayout, rowLabels: readonly string[], colLabels: readonly string[]): string[] {
  const { cell, labelStep } = layout;
  const out = [`<g fill="${FIGURE_TEXT}">`];
  for (let r = 0; r < rowLabels.length; r += labelStep) {
    out.push(
      `<text x="${layout.rowLabelX}" y="${round2(rowTop(layout, r) + cell / 2)}" text-anchor="end" dominant-baseline="central">${xmlEscape(rowLabels[r]!)}</text>`,
    );
  }
  for (let c = 0; c < colLabels.length; c += labelStep) {
    const x = round2(colLeft(layout, c) + cell / 2);
    out.push(
      `<text transform="translate(${x} ${layout.colLabelY}) rotate(-90)" text-anchor="end" dominant-baseline="central">${xmlEscape(colLabels[c]!)}</text>`,
    );
  }
  out.push('</g>');
  return out;
}

/** Which model is which axis. */
function axisTitles(layout: HeatmapLayout, figure: HeatmapSvgInput): string[] {
  const rowTitle = xmlEscape(`rows: ${figure.rows.title}`);
  const colTitle = xmlEscape(`columns: ${figure.cols.title}`);
  const { x, y } = layout.rowTitle;
  return [
    layout.rowTitle.along
      ? `<text transform="translate(${x} ${round2(y)}) rotate(-90)" text-anchor="middle" fill="${FIGURE_TEXT}" font-weight="600">${rowTitle}</text>`
      : `<text x="${x}" y="${y}" fill="${FIGURE_TEXT}" font-weight="600">${rowTitle}</text>`,
    `<text x="${round2(layout.colTitle.x)}" y="${layout.colTitle.y}" text-anchor="middle" fill="${FIGURE_TEXT}" font-weight="600">${colTitle}</text>`,
  ];
}
