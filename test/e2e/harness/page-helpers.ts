/** Reading what the harness page shows: where cells are, their pixels, downloads, CSV. */
import { readFileSync } from 'node:fs';
import type { Locator, Page } from 'playwright-core';
import { interpolateMagma, interpolateViridis } from 'd3-scale-chromatic';
import type { HarnessView } from './views.js';

export async function show(page: Page, view: HarnessView): Promise<{ mountMs: number; firstFrameMs: number }> {
  return page.evaluate((json) => window.harness.show(json), JSON.stringify(view));
}

export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The plot area (cells only) inside the base canvas, and the canvas's position on the page. */
export async function plotBox(page: Page, scope: Locator | Page = page): Promise<{ plot: Box; canvas: Box }> {
  const base = scope.locator('[data-testid="heatmap-base"]').first();
  const [x, y, w, h] = ((await base.getAttribute('data-plot')) ?? '').split(' ').map(Number);
  const box = await base.boundingBox();
  if (!box || w === undefined || h === undefined) throw new Error('the heatmap is not laid out');
  return { plot: { x: x!, y: y!, w, h }, canvas: { x: box.x, y: box.y, w: box.width, h: box.height } };
}

/** Centre of a cell at full view, in canvas CSS pixels and in page pixels. */
export function cellCentre(
  layout: { plot: Box; canvas: Box },
  grid: { rows: number; cols: number },
  row: number,
  col: number,
): { cx: number; cy: number; pageX: number; pageY: number } {
  const cx = layout.plot.x + ((col + 0.5) * layout.plot.w) / grid.cols;
  const cy = layout.plot.y + ((row + 0.5) * layout.plot.h) / grid.rows;
  return { cx, cy, pageX: layout.canvas.x + cx, pageY: layout.canvas.y + cy };
}

/** RGB of base-canvas pixels at canvas CSS coordinates (device pixel ratio 1). */
export async function basePixels(
  page: Page,
  points: { cx: number; cy: number }[],
): Promise<[number, number, number][]> {
  return page.evaluate((pts) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap-base"]')!;
    const context = canvas.getContext('2d')!;
    return pts.map(({ cx, cy }) => {
      const d = context.getImageData(Math.floor(cx), Math.floor(cy), 1, 1).data;
      return [d[0]!, d[1]!, d[2]!] as [number, number, number];
    });
  }, points);
}

/** All pixels of a rectangle of the base canvas, as [r, g, b] triples. */
export async function baseRegion(page: Page, box: Box): Promise<[number, number, number][]> {
  return page.evaluate((b) => {
    const canvas = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap-base"]')!;
    const d = canvas
      .getContext('2d')!
      .getImageData(Math.ceil(b.x), Math.ceil(b.y), Math.floor(b.w), Math.floor(b.h)).data;
    const out: [number, number, number][] = [];
    for (let i = 0; i < d.length; i += 4) out.push([d[i]!, d[i + 1]!, d[i + 2]!]);
    return out;
  }, box);
}

export function hexRgb(hex: string): [number, number, number] {
  const n = Number.parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

/** The colormap entry the app should use for `value`, computed here from d3 directly. */
export function expectedColour(value: number, colormap: 'viridis' | 'magma', lo = 0, hi = 1): [number, number, number] {
  const index = Math.min(255, Math.max(0, Math.round(((value - lo) / (hi - lo)) * 255)));
  const interpolate = colormap === 'viridis' ? interpolateViridis : interpolateMagma;
  return hexRgb(interpolate(index / 255));
}

/** Clicks a control that starts a download and returns the downloaded file's bytes. */
export async function download(page: Page, click: () => Promise<void>): Promise<{ name: string; bytes: Buffer }> {
  const [file] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await file.path();
  return { name: file.suggestedFilename(), bytes: readFileSync(path) };
}

/** RFC 4180 CSV: quoted fields with doubled quotes. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(field);
      field = '';
    } else if (ch === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += ch;
  }
  if (field !== '' || row.length > 0) rows.push([...row, field]);
  return rows;
}

export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
