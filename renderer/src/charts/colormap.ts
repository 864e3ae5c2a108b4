/**
 * Perceptual colormaps as 256-entry tables sampled from d3-scale-chromatic: a value's colour is a
 * table look-up (see ../lib/color-scale.ts), the same on the canvas, in the colorbar and in exports.
 */
import { interpolateMagma, interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';
import { COLORMAP_SIZE } from '../lib/color-scale.js';

const INTERPOLATORS = {
  viridis: interpolateViridis,
  magma: interpolateMagma,
  /** Diverging, for differences around 0: negative blue, positive red. */
  'blue-red': (t: number) => interpolateRdBu(1 - t),
} as const;

export type ColormapName = keyof typeof INTERPOLATORS;
/** The sequential maps people choose from for similarities (the diverging one is for differences). */
export const COLORMAP_NAMES: ColormapName[] = ['viridis', 'magma'];

export interface ColormapTable {
  name: ColormapName;
  /** `#rrggbb` per entry. */
  hex: readonly string[];
  /** r, g, b per entry (256 × 3 bytes), for writing ImageData. */
  rgb: Uint8ClampedArray;
}

const tables = new Map<ColormapName, ColormapTable>();

export function colormapTable(name: ColormapName): ColormapTable {
  let table = tables.get(name);
  if (!table) {
    const interpolate = INTERPOLATORS[name];
    const hex: string[] = [];
    const rgb = new Uint8ClampedArray(COLORMAP_SIZE * 3);
    for (let i = 0; i < COLORMAP_SIZE; i++) {
      // d3 gives `#rrggbb` for the sequential maps and `rgb(r, g, b)` for the diverging ones.
      const channels = cssToRgb(interpolate(i / (COLORMAP_SIZE - 1)));
      hex.push(`#${channels.map((v) => v.toString(16).padStart(2, '0')).join('')}`);
      rgb.set(channels, i * 3);
    }
    table = { name, hex, rgb };
    tables.set(name, table);
  }
  return table;
}

/** `#rrggbb` or `rgb(r, g, b)` as three bytes. */
export function cssToRgb(color: string): [number, number, number] {
  const match = /^rgb\((\d+),\s*(\d+),\s*(\d+)\)$/.exec(color);
  if (match) return [Number(match[1]), Number(match[2]), Number(match[3])];
  return hexToRgb(color);
}

export function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}
