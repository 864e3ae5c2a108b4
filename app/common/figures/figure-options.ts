/**
 * Figure options as people and requests give them (`FigureOptions`: a named range, limits in
 * px) turned into what the SVG writer takes, the same way on the page and in `runs export`.
 */
import type { FigureOptions } from '../contract.js';
import { UNIT_RANGE, finiteRange, valuesOf, type ValueRange } from './color-scale.js';
import type { HeatmapSvgOptions } from './heatmap-svg.js';

export const FONT_SIZE_LIMITS = { min: 6, max: 32, default: 11 } as const;
export const WIDTH_LIMITS = { min: 160, max: 4000 } as const;

/** The colour bar's ends for a figure of `values`: [0, 1], the values' own finite range, or as given. */
export function figureRange(
  range: FigureOptions['range'],
  values: readonly (readonly (number | null)[])[],
): ValueRange {
  if (range === undefined || range === 'unit') return UNIT_RANGE;
  if (range === 'data') return finiteRange(valuesOf(values.map((row) => row.map((v) => v ?? NaN)))) ?? UNIT_RANGE;
  return [range[0], range[1]];
}

/** Problems of a set of options, in words (empty when they are fine). */
export function figureOptionProblems(options: FigureOptions): string[] {
  const problems: string[] = [];
  const { fontSize, width, range } = options;
  if (fontSize !== undefined && !(fontSize >= FONT_SIZE_LIMITS.min && fontSize <= FONT_SIZE_LIMITS.max)) {
    problems.push(`the font size must be ${FONT_SIZE_LIMITS.min}–${FONT_SIZE_LIMITS.max} px`);
  }
  if (width !== undefined && !(Number.isInteger(width) && width >= WIDTH_LIMITS.min && width <= WIDTH_LIMITS.max)) {
    problems.push(`the width must be a whole number of px, ${WIDTH_LIMITS.min}–${WIDTH_LIMITS.max}`);
  }
  if (Array.isArray(range) && !(Number.isFinite(range[0]) && Number.isFinite(range[1]) && range[0] < range[1])) {
    problems.push('a colour range is two finite numbers, the first below the second');
  }
  return problems;
}

/** What heatmapSvg takes for `options` on a figure of `values`. */
export function svgOptions(options: FigureOptions, values: readonly (readonly (number | null)[])[]): HeatmapSvgOptions {
  const out: HeatmapSvgOptions = {
    colormap: options.colormap ?? 'viridis',
    range: figureRange(options.range, values),
    bestMatch: options.bestMatch ?? false,
  };
  if (options.fontSize !== undefined) out.fontSize = options.fontSize;
  if (options.width !== undefined) out.width = options.width;
  if (options.squareCells === false) out.squareCells = false;
  if (options.origin === 'bottom') out.origin = 'bottom';
  if (options.axisLabels === 'indices') out.axisLabels = 'indices';
  return out;
}
