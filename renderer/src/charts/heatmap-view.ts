/**
 * Zoom and pan of a heatmap as a window onto the grid, in cell units: the top-left visible cell
 * position (x0 columns, y0 rows, fractional) and a zoom level (1 = the whole matrix). Pure, so the
 * arithmetic is tested without a browser.
 */

export interface HeatmapView {
  x0: number;
  y0: number;
  zoom: number;
}

export interface GridSize {
  rows: number;
  cols: number;
}

export interface CellPosition {
  row: number;
  col: number;
}

/** Zoomed all the way in, at least this many cells stay visible along each axis. */
export const MIN_VISIBLE_CELLS = 4;

export const FULL_VIEW: HeatmapView = { x0: 0, y0: 0, zoom: 1 };

export function maxZoom(grid: GridSize): number {
  return Math.max(1, Math.max(grid.rows, grid.cols) / MIN_VISIBLE_CELLS);
}

/** Visible columns (w) and rows (h); an axis shorter than MIN_VISIBLE_CELLS is never cut. */
export function visibleCells(view: HeatmapView, grid: GridSize): { w: number; h: number } {
  return {
    w: Math.max(grid.cols / view.zoom, Math.min(grid.cols, MIN_VISIBLE_CELLS)),
    h: Math.max(grid.rows / view.zoom, Math.min(grid.rows, MIN_VISIBLE_CELLS)),
  };
}

export function clampView(view: HeatmapView, grid: GridSize): HeatmapView {
  const zoom = Math.min(maxZoom(grid), Math.max(1, view.zoom));
  const { w, h } = visibleCells({ ...view, zoom }, grid);
  return {
    zoom,
    x0: Math.min(Math.max(0, view.x0), Math.max(0, grid.cols - w)),
    y0: Math.min(Math.max(0, view.y0), Math.max(0, grid.rows - h)),
  };
}

/** Zoom by `factor` (> 1 in) keeping the point at fraction (fx, fy) of the plot where it is. */
export function zoomAt(view: HeatmapView, factor: number, fx: number, fy: number, grid: GridSize): HeatmapView {
  const before = visibleCells(view, grid);
  const zoom = Math.min(maxZoom(grid), Math.max(1, view.zoom * factor));
  const after = visibleCells({ ...view, zoom }, grid);
  return clampView({ zoom, x0: view.x0 + fx * (before.w - after.w), y0: view.y0 + fy * (before.h - after.h) }, grid);
}

export function panBy(view: HeatmapView, dCols: number, dRows: number, grid: GridSize): HeatmapView {
  return clampView({ ...view, x0: view.x0 + dCols, y0: view.y0 + dRows }, grid);
}

/** The cell under the point at fraction (fx, fy) of the plot, or null outside it. */
export function cellAt(view: HeatmapView, fx: number, fy: number, grid: GridSize): CellPosition | null {
  if (fx < 0 || fx >= 1 || fy < 0 || fy >= 1) return null;
  const { w, h } = visibleCells(view, grid);
  const col = Math.floor(view.x0 + fx * w);
  const row = Math.floor(view.y0 + fy * h);
  if (row < 0 || row >= grid.rows || col < 0 || col >= grid.cols) return null;
  return { row, col };
}

/** The smallest pan that brings a cell fully into view. */
export function revealCell(view: HeatmapView, cell: CellPosition, grid: GridSize): HeatmapView {
  const { w, h } = visibleCells(view, grid);
  let { x0, y0 } = view;
  if (cell.col < x0) x0 = cell.col;
  else if (cell.col + 1 > x0 + w) x0 = cell.col + 1 - w;
  if (cell.row < y0) y0 = cell.row;
  else if (cell.row + 1 > y0 + h) y0 = cell.row + 1 - h;
  return clampView({ ...view, x0, y0 }, grid);
}

/**
 * Indices of the labels to draw along an axis: those whose cell centre is in view, every `step`-th
 * so they do not overlap, aligned to the grid so labels keep their place while panning.
 */
export function labelIndices(
  start: number,
  visible: number,
  count: number,
  pitchPx: number,
  minPitchPx: number,
): number[] {
  const step = Math.max(1, Math.ceil(minPitchPx / Math.max(pitchPx, 1e-9)));
  const firstInView = Math.max(0, Math.ceil(start - 0.5));
  const first = Math.ceil(firstInView / step) * step;
  const last = Math.min(count - 1, Math.floor(start + visible - 0.5));
  const indices: number[] = [];
  for (let i = first; i <= last; i += step) indices.push(i);
  return indices;
}
