/**
 * Perceptual colormaps as 256-entry tables sampled from d3-scale-chromatic: a value's colour is a
 * table look-up (see ../lib/color-scale.ts), the same on the canvas, in the colorbar and in exports.
 */
import { interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';
import { COLORMAP_SIZE } from '../lib/color-scale.js';

const INTERPOLATORS = { viridis: interpolateViridis, magma: interpolateMagma } as const;

export type ColormapName = keyof typeof INTERPOLATORS;
export const COLORMAP_NAMES = Object.keys(INTERPOLATORS) as ColormapName[];

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
      const color = interpolate(i / (COLORMAP_SIZE - 1));
      hex.push(color);
      rgb.set(hexToRgb(color), i * 3);
    }
    table = { name, hex, rgb };
    tables.set(name, table);
  }
  return table;
}

export function hexToRgb(hex: string): [number, number, number] {
  const value = Number.parseInt(hex.slice(1), 16);
  return [(value >> 16) & 255, (value >> 8) & 255, value & 255];
}
