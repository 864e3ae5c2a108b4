/**
 * Canvas drawing of the heatmap in two layers. The base layer (cells, hatching of undefined cells,
 * best-match markers, layer names) is drawn when the data, colours, view or size change; the
 * overlay (hover crosshair, selected cell) on every hover — so hovering never repaints 40k cells.
 *
 * Cells come from a cell image: one pixel per cell (ImageData), scaled up with smoothing off, so a
 * 200 × 200 matrix is one drawImage call.
 */
import { colorIndex, type ValueRange } from '@common/figures/color-scale.js';
import { MARKER_FILL, MARKER_RING, NULL_FILL, NULL_HATCH } from '@common/figures/heatmap-style.js';
import { hexToRgb, type ColormapTable } from '@common/figures/colormaps.js';
import { labelIndices, visibleCells, type CellPosition, type GridSize, type HeatmapView } from './heatmap-view.js';

export const LABEL_FONT = "11px system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";
const LABEL_FONT_BOLD = `600 ${LABEL_FONT}`;
/** Closer than this, layer names would overlap: draw every k-th. */
const MIN_LABEL_PITCH_PX = 13;
const MAX_LABEL_WIDTH_PX = 170;
const LABEL_GAP_PX = 6;

export interface PlotRect {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface HeatmapLayout {
  /** CSS pixels of the whole canvas. */
  width: number;
  height: number;
  plot: PlotRect;
}

export interface HeatmapTheme {
  text: string;
  muted: string;
  border: string;
  accent: string;
  panel: string;
}

export interface FittedLabels {
  /** The labels, shortened with an ellipsis to fit. */
  texts: string[];
  /** Width of the widest, in CSS pixels. */
  width: number;
}

export function readTheme(element: Element): HeatmapTheme {
  const style = getComputedStyle(element);
  const css = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
  return {
    text: css('--text', '#1d1f23'),
    muted: css('--muted', '#646a73'),
    border: css('--border', '#e2e4e8'),
    accent: css('--accent', '#3b5bdb'),
    panel: css('--panel', '#ffffff'),
  };
}

/** One pixel per cell, row-major, undefined cells in the neutral grey. */
export function buildCellImage(
  values: Float64Array,
  grid: GridSize,
  table: ColormapTable,
  range: ValueRange,
): HTMLCanvasElement {
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, grid.cols);
  canvas.height = Math.max(1, grid.rows);
  const context = canvas.getContext('2d');
  if (!context || grid.rows === 0 || grid.cols === 0) return canvas;
  const image = context.createImageData(grid.cols, grid.rows);
  const pixels = image.data;
  const [nr, ng, nb] = hexToRgb(NULL_FILL);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const p = i * 4;
    if (Number.isNaN(v)) {
      pixels[p] = nr;
      pixels[p + 1] = ng;
      pixels[p + 2] = nb;
    } else {
      const k = colorIndex(v, range) * 3;
      pixels[p] = table.rgb[k]!;
      pixels[p + 1] = table.rgb[k + 1]!;
      pixels[p + 2] = table.rgb[k + 2]!;
    }
    pixels[p + 3] = 255;
  }
  context.putImageData(image, 0, 0);
  return canvas;
}

let measuring: CanvasRenderingContext2D | null = null;

/** Room around a highlighted (bold) name for its background. */
const HIGHLIGHT_PAD_PX = 3;

/**
 * Fits labels into MAX_LABEL_WIDTH_PX (measured in the label font) and reports the room they
 * need: the widest as drawn, or in bold with its background as the hovered row's name is drawn,
 * whichever is wider, so a highlighted name is never cut at the canvas edge.
 */
export function fitLabels(labels: readonly string[]): FittedLabels {
  measuring ??= document.createElement('canvas').getContext('2d');
  if (!measuring) return { texts: [...labels], width: MAX_LABEL_WIDTH_PX };
  const context = measuring;
  context.font = LABEL_FONT;
  let width = 0;
  const texts = labels.map((label) => {
    let text = label;
    let w = context.measureText(text).width;
    if (w > MAX_LABEL_WIDTH_PX) {
      // Keep the end of the name: layer names differ at their end ("…layer3.1.relu").
      let keep = label.length;
      while (keep > 1 && w > MAX_LABEL_WIDTH_PX) {
        keep--;
        text = `…${label.slice(label.length - keep)}`;
        w = context.measureText(text).width;
      }
    }
    width = Math.max(width, w);
    return text;
  });
  context.font = LABEL_FONT_BOLD;
  const bold = texts.reduce((max, text) => Math.max(max, context.measureText(text).width), 0);
  return { texts, width: Math.ceil(Math.max(width, bold + HIGHLIGHT_PAD_PX)) };
}

export function layoutHeatmap(
  width: number,
  height: number,
  rowLabelWidth: number,
  colLabelHeight: number,
): HeatmapLayout {
  const left = rowLabelWidth + LABEL_GAP_PX + 2;
  const bottom = colLabelHeight + LABEL_GAP_PX + 2;
  return {
    width,
    height,
    plot: { x: left, y: 4, w: Math.max(1, width - left - 4), h: Math.max(1, height - bottom - 4) },
  };
}

/** Where a cell is on the canvas (CSS pixels), given the view. */
export function cellRect(plot: PlotRect, view: HeatmapView, grid: GridSize, cell: CellPosition): PlotRect {
  const { w, h } = visibleCells(view, grid);
  const pw = plot.w / w;
  const ph = plot.h / h;
  return { x: plot.x + (cell.col - view.x0) * pw, y: plot.y + (cell.row - view.y0) * ph, w: pw, h: ph };
}

export interface BaseScene {
  layout: HeatmapLayout;
  dpr: number;
  view: HeatmapView;
  grid: GridSize;
  cellImage: CanvasImageSource;
  /** Row-major indices of undefined cells. */
  undefinedCells: Int32Array;
  /** Column of each row's best match (−1: none), or null to draw no markers. */
  bestMatch: Int32Array | null;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  theme: HeatmapTheme;
}

export function drawBase(context: CanvasRenderingContext2D, scene: BaseScene): void {
  const { layout, dpr, view, grid, theme } = scene;
  const { plot } = layout;
  const visible = visibleCells(view, grid);
  context.setTransform(dpr, 0, 0, dpr, 0, 0);
  context.clearRect(0, 0, layout.width, layout.height);
  if (grid.rows === 0 || grid.cols === 0) return;

  context.save();
  context.beginPath();
  context.rect(plot.x, plot.y, plot.w, plot.h);
  context.clip();
  context.imageSmoothingEnabled = false;
  context.drawImage(scene.cellImage, view.x0, view.y0, visible.w, visible.h, plot.x, plot.y, plot.w, plot.h);
  hatchUndefined(context, scene);
  if (scene.bestMatch) drawMarkers(context, scene, scene.bestMatch);
  context.restore();

  context.strokeStyle = theme.border;
  context.lineWidth = 1;
  context.strokeRect(plot.x - 0.5, plot.y - 0.5, plot.w + 1, plot.h + 1);
  drawLabels(context, scene);
}

function visibleRange(start: number, size: number, count: number): [number, number] {
  return [Math.max(0, Math.floor(start)), Math.min(count - 1, Math.ceil(start + size) - 1)];
}

function hatchUndefined(context: CanvasRenderingContext2D, scene: BaseScene): void {
  if (scene.undefinedCells.length === 0) return;
  const { view, grid, layout } = scene;
  const visible = visibleCells(view, grid);
  const [r0, r1] = visibleRange(view.y0, visible.h, grid.rows);
  const [c0, c1] = visibleRange(view.x0, visible.w, grid.cols);
  const pattern = hatchPattern(context);
  if (!pattern) return;
  context.beginPath();
  for (const index of scene.undefinedCells) {
    const row = Math.floor(index / grid.cols);
    const col = index % grid.cols;
    if (row < r0 || row > r1 || col < c0 || col > c1) continue;
    const rect = cellRect(layout.plot, view, grid, { row, col });
    context.rect(rect.x, rect.y, rect.w, rect.h);
  }
  context.fillStyle = pattern;
  context.fill();
}

const patterns = new WeakMap<CanvasRenderingContext2D, CanvasPattern | null>();

function hatchPattern(context: CanvasRenderingContext2D): CanvasPattern | null {
  if (!patterns.has(context)) {
    const tile = document.createElement('canvas');
    tile.width = tile.height = 6;
    const t = tile.getContext('2d');
    if (t) {
      t.strokeStyle = NULL_HATCH;
      t.lineWidth = 1.5;
      t.beginPath();
      // Diagonal lines that continue across tile edges.
      t.moveTo(0, 6);
      t.lineTo(6, 0);
      t.moveTo(-3, 3);
      t.lineTo(3, -3);
      t.moveTo(3, 9);
      t.lineTo(9, 3);
      t.stroke();
    }
    patterns.set(context, context.createPattern(tile, 'repeat'));
  }
  return patterns.get(context) ?? null;
}

function drawMarkers(context: CanvasRenderingContext2D, scene: BaseScene, best: Int32Array): void {
  const { view, grid, layout } = scene;
  const visible = visibleCells(view, grid);
  const [r0, r1] = visibleRange(view.y0, visible.h, grid.rows);
  for (let row = r0; row <= r1; row++) {
    const col = best[row]!;
    if (col < 0) continue;
    const rect = cellRect(layout.plot, view, grid, { row, col });
    const size = Math.min(rect.w, rect.h);
    const cx = rect.x + rect.w / 2;
    const cy = rect.y + rect.h / 2;
    context.fillStyle = MARKER_FILL;
    if (size < 6) {
      // Too small for a ring inside the cell: a ringed white square that may spill over its
      // neighbours, so the mark stays visible on the light end of a colormap.
      const s = Math.max(3, size * 0.6);
      context.fillRect(cx - s / 2, cy - s / 2, s, s);
      context.strokeStyle = MARKER_RING;
      context.lineWidth = 1;
      context.strokeRect(cx - s / 2 - 0.5, cy - s / 2 - 0.5, s + 1, s + 1);
      continue;
    }
    const radius = Math.min(6, size * 0.28);
    context.beginPath();
    context.arc(cx, cy, radius, 0, 2 * Math.PI);
    context.fill();
    context.strokeStyle = MARKER_RING;
    context.lineWidth = 1;
    context.stroke();
  }
}

function drawLabels(context: CanvasRenderingContext2D, scene: BaseScene): void {
  const { view, grid, layout, theme } = scene;
  const { plot } = layout;
  const visible = visibleCells(view, grid);
  const pitchY = plot.h / visible.h;
  const pitchX = plot.w / visible.w;
  context.font = LABEL_FONT;
  context.fillStyle = theme.text;

  context.save();
  context.beginPath();
  context.rect(0, plot.y - 7, plot.x, plot.h + 14);
  context.clip();
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const row of labelIndices(view.y0, visible.h, grid.rows, pitchY, MIN_LABEL_PITCH_PX)) {
    context.fillText(scene.rowLabels[row]!, plot.x - LABEL_GAP_PX, plot.y + (row - view.y0 + 0.5) * pitchY);
  }
  context.restore();

  context.save();
  context.beginPath();
  context.rect(plot.x - 7, plot.y + plot.h, plot.w + 14, layout.height - plot.y - plot.h);
  context.clip();
  context.textAlign = 'right';
  context.textBaseline = 'middle';
  for (const col of labelIndices(view.x0, visible.w, grid.cols, pitchX, MIN_LABEL_PITCH_PX)) {
    context.save();
    context.translate(plot.x + (col - view.x0 + 0.5) * pitchX, plot.y + plot.h + LABEL_GAP_PX);
    context.rotate(-Math.PI / 2);
    context.fillText(scene.colLabels[col]!, 0, 0);
    context.restore();
  }
  context.restore();
}

export interface OverlayScene {
  layout: HeatmapLayout;
  dpr: number;
  view: HeatmapView;
  grid: GridSize;
  hover: CellPosition | null;
  selected: CellPosition | null;
  rowLabels: readonly string[];
  colLabels: readonly string[];
  theme: HeatmapTheme;
}

export function drawOverlay(context: CanvasRenderingContext2D, scene: OverlayScene): void {
  const { layout, dpr, view, grid, theme } = scene;
  const { plot } = layout;
  context.setTransform(dpr, 0, 0, dpr, 0, 0);
  context.clearRect(0, 0, layout.width, layout.height);
  const focus = scene.hover ?? scene.selected;
  if (focus) {
    // Crosshair: the hovered row and column as thin bands, and their names in bold over the labels.
    const rect = cellRect(plot, view, grid, focus);
    context.save();
    context.beginPath();
    context.rect(plot.x, plot.y, plot.w, plot.h);
    context.clip();
    context.strokeStyle = 'rgba(255, 255, 255, 0.55)';
    context.lineWidth = 1;
    context.strokeRect(plot.x - 1, rect.y - 0.5, plot.w + 2, rect.h + 1);
    context.strokeRect(rect.x - 0.5, plot.y - 1, rect.w + 1, plot.h + 2);
    context.restore();
    highlightLabels(context, scene, focus, rect);
  }
  // Outlines stay over the plot (and the gap around it), never over the names: a selected cell
  // zoomed partly out of view is cut at the plot's edge.
  context.save();
  context.beginPath();
  context.rect(
    plot.x - OUTLINE_SPILL_PX,
    plot.y - OUTLINE_SPILL_PX,
    plot.w + 2 * OUTLINE_SPILL_PX,
    plot.h + 2 * OUTLINE_SPILL_PX,
  );
  context.clip();
  if (scene.selected) outlineCell(context, cellRect(plot, view, grid, scene.selected), theme.accent, 3);
  if (scene.hover) outlineCell(context, cellRect(plot, view, grid, scene.hover), theme.text, 2);
  context.restore();
}

/** How far an outline may reach past the plot: less than the gap before the names. */
const OUTLINE_SPILL_PX = 2;

/** A double outline (white inside, colour outside) that stays visible on any cell colour. */
function outlineCell(context: CanvasRenderingContext2D, rect: PlotRect, color: string, width: number): void {
  context.lineWidth = width;
  context.strokeStyle = color;
  context.strokeRect(rect.x - width / 2, rect.y - width / 2, rect.w + width, rect.h + width);
  context.lineWidth = 1;
  context.strokeStyle = '#ffffff';
  context.strokeRect(rect.x + 0.5, rect.y + 0.5, Math.max(0, rect.w - 1), Math.max(0, rect.h - 1));
}

function highlightLabels(
  context: CanvasRenderingContext2D,
  scene: OverlayScene,
  cell: CellPosition,
  rect: PlotRect,
): void {
  const { plot } = scene.layout;
  context.font = LABEL_FONT_BOLD;
  context.textBaseline = 'middle';
  context.textAlign = 'right';
  const rowText = scene.rowLabels[cell.row]!;
  const cy = rect.y + rect.h / 2;
  if (cy >= plot.y && cy <= plot.y + plot.h) {
    const w = context.measureText(rowText).width;
    context.fillStyle = scene.theme.panel;
    context.fillRect(plot.x - LABEL_GAP_PX - w - HIGHLIGHT_PAD_PX, cy - 8, w + 2 * HIGHLIGHT_PAD_PX, 16);
    context.fillStyle = scene.theme.accent;
    context.fillText(rowText, plot.x - LABEL_GAP_PX, cy);
  }
  const colText = scene.colLabels[cell.col]!;
  const cx = rect.x + rect.w / 2;
  if (cx >= plot.x && cx <= plot.x + plot.w) {
    const w = context.measureText(colText).width;
    context.save();
    context.translate(cx, plot.y + plot.h + LABEL_GAP_PX);
    context.rotate(-Math.PI / 2);
    context.fillStyle = scene.theme.panel;
    context.fillRect(-w - HIGHLIGHT_PAD_PX, -8, w + 2 * HIGHLIGHT_PAD_PX, 16);
    context.fillStyle = scene.theme.accent;
    context.fillText(colText, 0, 0);
    context.restore();
  }
}
