/**
 * chart.js set up for the line plots of a heatmap: only the parts used are registered, and chart
 * data is built from plain arrays (never Svelte proxies: chart.js mutates what it is given).
 */
import {
  CategoryScale,
  Chart,
  Filler,
  Legend,
  LineController,
  LineElement,
  LinearScale,
  PointElement,
  Tooltip,
  type ChartDataset,
} from 'chart.js';
import type { ValueRange } from '@common/figures/color-scale.js';
import { formatValue } from './heatmap-data.js';
import type { HeatmapTheme } from './heatmap-draw.js';

Chart.register(CategoryScale, LinearScale, LineController, LineElement, PointElement, Filler, Legend, Tooltip);

export interface LineSeries {
  label: string;
  /** One value per x label; NaN leaves a gap. */
  values: ArrayLike<number>;
  color: string;
  dashed?: boolean;
  /** An interval drawn as a shaded band around the line. */
  band?: { lo: ArrayLike<number>; hi: ArrayLike<number>; label: string };
}

export interface LinePlot {
  labels: readonly string[];
  series: readonly LineSeries[];
  /** Index of the x label to mark (the selected cell). */
  highlight: number | null;
  /** Fixed y range, or null to fit the data. */
  yRange: ValueRange | null;
  xTitle: string;
}

type LineDataset = ChartDataset<'line', (number | null)[]>;

const toPoints = (values: ArrayLike<number>) => Array.from(values, (v) => (Number.isNaN(v) ? null : v));

function translucent(color: string, alpha: number): string {
  const hex = color.startsWith('#') && color.length === 7 ? color : null;
  if (!hex) return color;
  const n = Number.parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

export function lineDatasets(plot: LinePlot): LineDataset[] {
  const datasets: LineDataset[] = [];
  for (const series of plot.series) {
    if (series.band) {
      // Two invisible lines with the space between them filled: the interval.
      datasets.push(
        {
          label: `${series.band.label} (low)`,
          data: toPoints(series.band.lo),
          borderWidth: 0,
          pointRadius: 0,
          pointHitRadius: 0,
          fill: false,
          spanGaps: false,
        },
        {
          label: series.band.label,
          data: toPoints(series.band.hi),
          borderWidth: 0,
          pointRadius: 0,
          pointHitRadius: 0,
          backgroundColor: translucent(series.color, 0.2),
          fill: '-1',
          spanGaps: false,
        },
      );
    }
    datasets.push({
      label: series.label,
      data: toPoints(series.values),
      borderColor: series.color,
      backgroundColor: series.color,
      borderWidth: 1.5,
      borderDash: series.dashed ? [4, 3] : [],
      pointRadius: (context) => (context.dataIndex === plot.highlight ? 4 : 0),
      pointHoverRadius: 4,
      fill: false,
      spanGaps: false,
      tension: 0,
    });
  }
  return datasets;
}

export function createLineChart(
  canvas: HTMLCanvasElement,
  plot: LinePlot,
  theme: HeatmapTheme,
): Chart<'line', (number | null)[], string> {
  const chart = new Chart<'line', (number | null)[], string>(canvas, {
    type: 'line',
    data: { labels: [...plot.labels], datasets: lineDatasets(plot) },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: {
          display: true,
          position: 'top',
          align: 'end',
          labels: {
            boxWidth: 12,
            boxHeight: 2,
            font: { size: 11 },
            // Interval bands are explained by their own entry; hide the helper "low" line.
            filter: (item) => !item.text.endsWith('(low)'),
          },
        },
        tooltip: {
          filter: (item) => !(item.dataset.label ?? '').endsWith('(low)'),
          callbacks: { label: (item) => `${item.dataset.label}: ${formatValue(item.parsed.y ?? NaN)}` },
        },
      },
      scales: {
        x: {
          title: { display: true, text: plot.xTitle, font: { size: 11 } },
          ticks: { autoSkip: true, maxRotation: 60, font: { size: 10 } },
          grid: { display: false },
        },
        y: {
          min: plot.yRange?.[0],
          max: plot.yRange?.[1],
          ticks: { font: { size: 10 } },
        },
      },
    },
  });
  applyTheme(chart, theme);
  chart.update('none');
  return chart;
}

/** Puts new data and theme colours into an existing chart and redraws it without animation. */
export function updateLineChart(
  chart: Chart<'line', (number | null)[], string>,
  plot: LinePlot,
  theme: HeatmapTheme,
): void {
  chart.data.labels = [...plot.labels];
  chart.data.datasets = lineDatasets(plot);
  const scales = chart.options.scales!;
  scales.y!.min = plot.yRange?.[0];
  scales.y!.max = plot.yRange?.[1];
  const x = scales.x as { title: { text: string } };
  x.title.text = plot.xTitle;
  applyTheme(chart, theme);
  chart.update('none');
}

export function applyTheme(chart: Chart<'line', (number | null)[], string>, theme: HeatmapTheme): void {
  const scales = chart.options.scales!;
  for (const scale of [scales.x!, scales.y!]) {
    const s = scale as { ticks: { color: string }; grid: { color: string }; title?: { color: string } };
    s.ticks.color = theme.muted;
    s.grid.color = theme.border;
    if (s.title) s.title.color = theme.muted;
  }
  const legend = chart.options.plugins!.legend!.labels as { color: string };
  legend.color = theme.text;
}
