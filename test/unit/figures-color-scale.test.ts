import { describe, expect, it } from 'vitest';
import { interpolateMagma, interpolateRdBu, interpolateViridis } from 'd3-scale-chromatic';
import {
  colorIndex,
  finiteRange,
  formatTick,
  hasValuesOutside,
  niceTicks,
  valuesOf,
} from '../../app/common/figures/color-scale.js';
import { colormapTable } from '../../app/common/figures/colormaps.js';

describe('colour scale', () => {
  it('maps [lo, hi] onto entries 0..255 by rounding, clamping outside', () => {
    expect(colorIndex(0, [0, 1])).toBe(0);
    expect(colorIndex(1, [0, 1])).toBe(255);
    expect(colorIndex(0.5, [0, 1])).toBe(128); // 127.5 rounds up
    expect(colorIndex(0.3, [0, 1])).toBe(77); // 76.5 → 77
    expect(colorIndex(-0.2, [0, 1])).toBe(0);
    expect(colorIndex(1.7, [0, 1])).toBe(255);
    expect(colorIndex(0.75, [0.5, 1])).toBe(128);
  });

  it('gives a degenerate range the middle entry instead of dividing by zero', () => {
    expect(colorIndex(0.4, [0.4, 0.4])).toBe(128);
    const widened = finiteRange([0.7, NaN, 0.7])!;
    expect(widened[0]).toBeCloseTo(0.2, 12);
    expect(widened[1]).toBeCloseTo(1.2, 12);
    expect(colorIndex(0.7, finiteRange([0.7])!)).toBe(128);
  });

  it('finds the finite range and values outside a range', () => {
    expect(finiteRange([0.3, NaN, -0.1, 0.9, Infinity])).toEqual([-0.1, 0.9]);
    expect(finiteRange([NaN, NaN])).toBeNull();
    expect(hasValuesOutside([0, 0.5, 1], [0, 1])).toBe(false);
    expect(hasValuesOutside([0, -0.05, NaN], [0, 1])).toBe(true);
    // over several matrices' values without copying them into one array
    const a = Float64Array.from([0.2, NaN, 0.6]);
    const b = Float64Array.from([-0.3, 0.1]);
    expect([...valuesOf([a, b, []])]).toEqual([0.2, NaN, 0.6, -0.3, 0.1]);
    expect(finiteRange(valuesOf([a, b]))).toEqual([-0.3, 0.6]);
  });

  it('picks round ticks', () => {
    expect(niceTicks([0, 1])).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(niceTicks([0.12, 0.93])).toEqual([0.25, 0.5, 0.75]);
    expect(niceTicks([0.31, 0.47])).toEqual([0.35, 0.4, 0.45]);
    expect(niceTicks([-0.1, 0.9]).map(formatTick)).toEqual(['0', '0.25', '0.5', '0.75']);
  });
});

/** d3 writes sequential maps as `#rrggbb` and diverging ones as `rgb(r, g, b)`. */
function d3Bytes(color: string): number[] {
  const rgb = /^rgb\((\d+), (\d+), (\d+)\)$/.exec(color);
  if (rgb) return rgb.slice(1).map(Number);
  const n = Number.parseInt(color.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

describe('colormap tables', () => {
  it('hold, entry for entry, what d3-scale-chromatic gives at i / 255', () => {
    for (const [name, interpolate] of [
      ['viridis', interpolateViridis],
      ['magma', interpolateMagma],
      ['blue-red', (t: number) => interpolateRdBu(1 - t)],
    ] as const) {
      const table = colormapTable(name);
      expect(table.hex).toHaveLength(256);
      expect(table.rgb).toHaveLength(256 * 3);
      for (let i = 0; i < 256; i++) {
        const bytes = d3Bytes(interpolate(i / 255));
        expect([...table.rgb.subarray(i * 3, i * 3 + 3)], `${name} ${i}`).toEqual(bytes);
        expect(table.hex[i], `${name} ${i}`).toBe(`#${bytes.map((v) => v.toString(16).padStart(2, '0')).join('')}`);
      }
    }
  });

  it('are the 256 d3 colours, first to last', () => {
    for (const [name, interpolate] of [
      ['viridis', interpolateViridis],
      ['magma', interpolateMagma],
    ] as const) {
      const table = colormapTable(name);
      expect(table.hex).toHaveLength(256);
      for (const i of [0, 1, 77, 128, 254, 255]) {
        expect(table.hex[i]).toBe(interpolate(i / 255));
        const n = Number.parseInt(interpolate(i / 255).slice(1), 16);
        expect([...table.rgb.subarray(i * 3, i * 3 + 3)]).toEqual([(n >> 16) & 255, (n >> 8) & 255, n & 255]);
      }
    }
    // Independent anchors: matplotlib's end colours of each map.
    expect(colormapTable('viridis').hex[0]).toBe('#440154');
    expect(colormapTable('viridis').hex[255]).toBe('#fde725');
    expect(colormapTable('magma').hex[0]).toBe('#000004');
    expect(colormapTable('magma').hex[255]).toBe('#fcfdbf');
    expect([...colormapTable('magma').rgb.subarray(0, 3)]).toEqual([0, 0, 4]);
    expect([...colormapTable('magma').rgb.subarray(255 * 3)]).toEqual([252, 253, 191]);
  });

  it('has a diverging blue–red map for differences: blue below 0, white at 0, red above', () => {
    const table = colormapTable('blue-red');
    const rgb = (i: number) => [...table.rgb.subarray(i * 3, i * 3 + 3)];
    // d3 writes this map as rgb(r, g, b): the table holds the same bytes, and #rrggbb for SVG.
    for (const i of [0, 64, 128, 200, 255]) {
      const [r, g, b] = /rgb\((\d+), (\d+), (\d+)\)/
        .exec(interpolateRdBu(1 - i / 255))!
        .slice(1)
        .map(Number);
      expect(rgb(i)).toEqual([r, g, b]);
      expect(table.hex[i]).toBe(`#${[r, g, b].map((v) => v!.toString(16).padStart(2, '0')).join('')}`);
    }
    const [r0, , b0] = rgb(0);
    const [r1, , b1] = rgb(255);
    expect(b0!).toBeGreaterThan(r0!);
    expect(r1!).toBeGreaterThan(b1!);
    expect(Math.min(...rgb(128))).toBeGreaterThan(230);
  });
});
