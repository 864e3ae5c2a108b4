/**
 * The baseline the canvas heatmap is measured against (test/bench/heatmap.bench.ts): the same
 * matrix as a chartjs-chart-matrix chart, one rectangle element per cell, same colormap.
 */
import { Chart, LinearScale, Tooltip } from 'chart.js';
import { MatrixController, MatrixElement } from 'chartjs-chart-matrix';
import type { SimilarityMatrix } from '../../../app/common/contract.js';
import { colormapTable } from '../../../app/common/figures/colormaps.js';
import { colorIndex, UNIT_RANGE } from '../../../app/common/figures/color-scale.js';

Chart.register(MatrixController, MatrixElement, LinearScale, Tooltip);

interface Cell {
  x: number;
  y: number;
  v: number | null;
}

export function mountChartjsMatrix(target: HTMLElement, matrix: SimilarityMatrix): { destroy(): void } {
  const rows = matrix.matrix.length;
  const cols = matrix.matrix[0]?.length ?? 0;
  const colors = colormapTable('viridis').hex;
  const cells: Cell[] = matrix.matrix.flatMap((row, y) => row.map((v, x) => ({ x, y, v })));
  const box = document.createElement('div');
  box.className = 'baseline';
  const canvas = document.createElement('canvas');
  box.append(canvas);
  target.replaceChildren(box);
  const chart = new Chart<'matrix', Cell[]>(canvas, {
    type: 'matrix',
    data: {
      datasets: [
        {
          data: cells,
          backgroundColor: (context) => {
            const v = (context.raw as Cell | undefined)?.v;
            return v === null || v === undefined ? '#8c9199' : colors[colorIndex(v, UNIT_RANGE)]!;
          },
          width: ({ chart: c }) => (c.chartArea?.width ?? 0) / cols,
          height: ({ chart: c }) => (c.chartArea?.height ?? 0) / rows,
        },
      ],
    },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { type: 'linear', min: -0.5, max: cols - 0.5, display: false },
        y: { type: 'linear', min: -0.5, max: rows - 0.5, reverse: true, display: false },
      },
    },
  });
  return { destroy: () => chart.destroy() };
}
