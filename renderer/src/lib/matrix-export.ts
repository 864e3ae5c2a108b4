/**
 * What the page's exports of a heatmap hold. The figure (SVG, and the PNG drawn from it) and the
 * CSV come from the same figure code as the engine's `runs export`, so a figure saved here and
 * one exported by the engine are the same file.
 */
import { matrixCsv } from '@common/figures/csv.js';
import type { FigureOptions } from '@common/contract.js';
import { svgOptions } from '@common/figures/figure-options.js';
import { heatmapSvg, type HeatmapSvgInput } from '@common/figures/heatmap-svg.js';
import type { HeatmapData } from '../charts/heatmap-data.js';

/** The heatmap on screen as the figure's inputs. */
export function heatmapFigure(data: HeatmapData): HeatmapSvgInput {
  const rows = data.rows.labels.length;
  const cols = data.cols.labels.length;
  const values = Array.from({ length: rows }, (_, r) =>
    Array.from(data.values.subarray(r * cols, (r + 1) * cols), (v) => (Number.isNaN(v) ? null : v)),
  );
  return {
    values,
    rows: { title: data.rows.title, labels: data.rows.labels },
    cols: { title: data.cols.title, labels: data.cols.labels },
    title: data.title,
    valueLabel: data.measure,
  };
}

/** The figure as SVG, drawn with `options` as `runs export` draws it. */
export function heatmapFigureSvg(data: HeatmapData, options: FigureOptions): string {
  const figure = heatmapFigure(data);
  return heatmapSvg(figure, svgOptions(options, figure.values));
}

/** The numbers as CSV: layer names on both axes, which model is which in the corner. */
export function heatmapToCsv(data: HeatmapData): string {
  return matrixCsv(heatmapFigure(data));
}

export function toJson(value: unknown): string {
  return JSON.stringify(value, null, 2) + '\n';
}
