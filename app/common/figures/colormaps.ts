/**
 * The colormaps as lookup tables: a value's colour is one entry (see color-scale.ts), the same on
 * the canvas, in the colour bar and in the SVG figure.
 */
import { COLORMAP_SIZE } from './color-scale.js';
import { PACKED_COLORMAPS } from './colormap-data.js';

/** viridis and magma for similarities; blue-red (diverging: negative blue, 0 white, positive red) for differences. */
export type ColormapName = keyof typeof PACKED_COLORMAPS;

/** The sequential maps people choose from for similarities (the diverging one is for differences). */
export const COLORMAP_NAMES: ColormapName[] = ['viridis', 'magma'];

export interface ColormapTable {
  name: ColormapName;
  /** `#rrggbb` per entry, for SVG and CSS. */
  hex: readonly string[];
  /** r, g, b per entry (256 × 3 bytes), for writing ImageData without parsing colours. */
  rgb: Uint8ClampedArray;
}

const tables = new Map<ColormapName, ColormapTable>();

export function colormapTable(name: ColormapName): ColormapTable {
  let table = tables.get(name);
  if (!table) {
    const packed = PACKED_COLORMAPS[name];
    const hex: string[] = [];
    const rgb = new Uint8ClampedArray(COLORMAP_SIZE * 3);
    for (let i = 0; i < COLORMAP_SIZE; i++) {
      const entry = `#${packed.slice(i * 6, i * 6 + 6)}`;
      hex.push(entry);
      rgb.set(hexToRgb(entry), i * 3);
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
