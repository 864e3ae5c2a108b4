/**
 * Mapping values to colormap entries, and the value range a heatmap's colours span: the SVG figure
 * and the canvas heatmap share it, so both give a value the same colour.
 */

/** [lo, hi]: the values the first and the last colormap entries stand for. */
export type ValueRange = readonly [lo: number, hi: number];

/** CKA's own range: the default colour scale, so figures of different runs compare by eye. */
export const UNIT_RANGE: ValueRange = [0, 1];

export const COLORMAP_SIZE = 256;

/** Colours span [0, 1] ("unit": comparable across figures) or the data's own range. */
export type ColorScaleMode = 'unit' | 'data';

/** Entry of a 256-entry colormap for `value`: round((value − lo) / (hi − lo) · 255), clamped. */
export function colorIndex(value: number, range: ValueRange): number {
  const [lo, hi] = range;
  const span = hi - lo;
  if (!(span > 0)) return COLORMAP_SIZE >> 1;
  const index = Math.round(((value - lo) / span) * (COLORMAP_SIZE - 1));
  return Math.min(COLORMAP_SIZE - 1, Math.max(0, index));
}

/**
 * Smallest and largest finite value, or null when there is none. A single distinct value is
 * widened by ±0.5 so it still maps to the middle of the colormap rather than dividing by zero.
 */
export function finiteRange(values: Iterable<number>): ValueRange | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo > hi) return null;
  return lo === hi ? [lo - 0.5, hi + 0.5] : [lo, hi];
}

/** The values of several arrays in turn, without copying them into one. */
export function* valuesOf(arrays: Iterable<ArrayLike<number>>): Generator<number> {
  for (const array of arrays) for (let i = 0; i < array.length; i++) yield array[i]!;
}

/** True when some finite value lies outside `range` (it is drawn in the end colour: say so). */
export function hasValuesOutside(values: Iterable<number>, range: ValueRange): boolean {
  for (const v of values) if (Number.isFinite(v) && (v < range[0] || v > range[1])) return true;
  return false;
}

/** About `count` round tick values inside `range` (1, 2 or 5 times a power of ten apart). */
export function niceTicks(range: ValueRange, count = 5): number[] {
  const [lo, hi] = range;
  const span = hi - lo;
  if (!(span > 0) || count < 2) return [lo];
  const raw = span / (count - 1);
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? raw;
  const ticks: number[] = [];
  // Integer multiples of the step, rounded to its decimals so 0.30000000000000004 prints as 0.3.
  const decimals = Math.max(0, -Math.floor(Math.log10(step)) + 1);
  for (let k = Math.ceil(lo / step - 1e-9); k * step <= hi + step * 1e-9; k++) {
    ticks.push(Number((k * step).toFixed(decimals)));
  }
  return ticks;
}

/** A tick label: as few decimals as the tick needs (0, 0.25, 0.5, 1). */
export function formatTick(value: number): string {
  return String(Number(value.toPrecision(6)));
}
