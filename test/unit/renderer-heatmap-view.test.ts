import { describe, expect, it } from 'vitest';
import {
  FULL_VIEW,
  cellAt,
  clampView,
  labelIndices,
  maxZoom,
  panBy,
  revealCell,
  visibleCells,
  zoomAt,
} from '../../renderer/src/charts/heatmap-view.js';

const grid = { rows: 200, cols: 100 };

describe('heatmap view (zoom and pan in cell units)', () => {
  it('shows the whole matrix at zoom 1', () => {
    expect(visibleCells(FULL_VIEW, grid)).toEqual({ w: 100, h: 200 });
    expect(cellAt(FULL_VIEW, 0, 0, grid)).toEqual({ row: 0, col: 0 });
    expect(cellAt(FULL_VIEW, 0.999, 0.999, grid)).toEqual({ row: 199, col: 99 });
    expect(cellAt(FULL_VIEW, 0.5, 1, grid)).toBeNull();
    expect(cellAt(FULL_VIEW, -0.01, 0.5, grid)).toBeNull();
  });

  it('keeps the point under the pointer in place when zooming', () => {
    const fx = 0.3;
    const fy = 0.8;
    const before = cellAt(FULL_VIEW, fx, fy, grid);
    const zoomed = zoomAt(FULL_VIEW, 4, fx, fy, grid);
    expect(zoomed.zoom).toBe(4);
    expect(cellAt(zoomed, fx, fy, grid)).toEqual(before);
    const { w, h } = visibleCells(zoomed, grid);
    expect(zoomed.x0 + fx * w).toBeCloseTo(fx * 100, 9);
    expect(zoomed.y0 + fy * h).toBeCloseTo(fy * 200, 9);
  });

  it('never zooms out past the whole matrix nor in past a few cells', () => {
    expect(zoomAt(FULL_VIEW, 0.5, 0.5, 0.5, grid)).toEqual(FULL_VIEW);
    const deep = zoomAt(FULL_VIEW, 1e6, 0.5, 0.5, grid);
    expect(deep.zoom).toBe(maxZoom(grid));
    expect(visibleCells(deep, grid).w).toBeGreaterThanOrEqual(4);
    // A 3-row matrix keeps all three rows while its 300 columns zoom.
    const thin = { rows: 3, cols: 300 };
    expect(visibleCells(zoomAt(FULL_VIEW, 50, 0.5, 0.5, thin), thin)).toEqual({ w: 6, h: 3 });
  });

  it('pans within the matrix only', () => {
    const zoomed = zoomAt(FULL_VIEW, 2, 0, 0, grid);
    expect(panBy(zoomed, -10, -10, grid)).toMatchObject({ x0: 0, y0: 0 });
    expect(panBy(zoomed, 1000, 1000, grid)).toMatchObject({ x0: 50, y0: 100 });
    expect(clampView({ x0: 5, y0: 5, zoom: 1 }, grid)).toEqual(FULL_VIEW);
  });

  it('reveals a cell with the smallest pan', () => {
    const zoomed = { x0: 10, y0: 10, zoom: 10 }; // 10 × 20 cells visible
    expect(revealCell(zoomed, { row: 15, col: 15 }, grid)).toEqual(zoomed);
    expect(revealCell(zoomed, { row: 35, col: 15 }, grid)).toMatchObject({ x0: 10, y0: 16 });
    expect(revealCell(zoomed, { row: 12, col: 3 }, grid)).toMatchObject({ x0: 3, y0: 10 });
  });

  it('labels every k-th cell whose centre is in view, aligned to the grid', () => {
    expect(labelIndices(0, 10, 10, 20, 13)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(labelIndices(0, 200, 200, 2.5, 13)).toEqual(
      Array.from({ length: 34 }, (_, i) => i * 6).filter((i) => i < 200),
    );
    // Panned by a fraction: the half-visible first cell gets no label; the step keeps its phase.
    expect(labelIndices(10.6, 12, 200, 4, 13)).toEqual([12, 16, 20]);
  });
});
