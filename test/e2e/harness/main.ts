/**
 * Test harness (never shipped): mounts the renderer's components with data the test passes in,
 * under the same CSP as the app, and times mounting and hover updates from inside the page.
 */
import { flushSync, mount, unmount } from 'svelte';
import Heatmap from '../../../renderer/src/charts/Heatmap.svelte';
import { heatmapFromSimilarity } from '../../../renderer/src/charts/heatmap-data.js';
import LayerTable from '../../../renderer/src/components/LayerTable.svelte';
import MatrixView from '../../../renderer/src/components/MatrixView.svelte';
import ModelGraph from '../../../renderer/src/components/ModelGraph.svelte';
import ResultView from '../../../renderer/src/components/ResultView.svelte';
import { requestExport } from '../../../renderer/src/lib/export-target.js';
import { layoutGraph, warmLayout } from '../../../renderer/src/charts/graph-layout.js';
import { graphModel } from '../../../renderer/src/charts/graph-model.js';
import { mountChartjsMatrix } from './chartjs-matrix-baseline.js';
import type { LayerInfo, ModelGraph as GraphData, WorkbenchApi } from '../../../app/common/contract.js';
import type { HarnessApi, HarnessView, HoverTiming } from './views.js';
import '../../../renderer/src/styles.css';
import './harness.css';

declare global {
  interface Window {
    harness: HarnessApi;
  }
}

const root = document.getElementById('harness')!;
const violations: string[] = [];
document.addEventListener('securitypolicyviolation', (event) =>
  violations.push(`${event.violatedDirective}: ${event.blockedURI}`),
);

let current: ReturnType<typeof mount> | { destroy(): void } | null = null;

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));

/** A container of the size the view gets in the app. */
function stage(size: 'solo' | 'wide' | 'layers' | 'baseline' | 'graph'): HTMLElement {
  const target = document.createElement('div');
  target.className = `stage ${size}`;
  root.replaceChildren(target);
  return target;
}

/** Mounts a fresh instance of the component a view names. */
function mountView(view: HarnessView) {
  switch (view.kind) {
    case 'heatmap':
      // The selection is read back from the heatmap's live announcement, as a screen reader would.
      return mount(Heatmap, {
        target: stage('solo'),
        props: {
          data: heatmapFromSimilarity(view.matrix),
          colormap: view.colormap,
          range: view.range,
          bestMatch: view.bestMatch,
          height: view.height,
        },
      });
    case 'matrix':
      return mount(MatrixView, { target: stage('wide'), props: { matrix: view.matrix } });
    case 'result':
      return mount(ResultView, { target: stage('wide'), props: { result: view.result } });
    case 'layers':
      // Not bound: the table keeps its own copy, shown in its selection summary.
      return mount(LayerTable, {
        target: stage('layers'),
        props: { layers: view.layers, selection: view.selection ?? 'all' },
      });
    case 'graph': {
      const graph = view.graph;
      const api = { modelGraph: () => Promise.resolve(graph) } as unknown as WorkbenchApi;
      return mount(ModelGraph, {
        target: stage('graph'),
        props: {
          api,
          path: graph.path,
          layers: view.layers,
          selection: view.selection ?? 'all',
          height: view.height ?? 560,
        },
      });
    }
    case 'chartjs-matrix':
      return mountChartjsMatrix(stage('baseline'), view.matrix);
  }
}

window.harness = {
  async show(viewJson: string) {
    const view = JSON.parse(viewJson) as HarnessView;
    if (current && 'destroy' in current && typeof current.destroy === 'function') current.destroy();
    else if (current) void unmount(current);
    current = null;
    await nextFrame();
    const start = performance.now();
    current = mountView(view);
    flushSync();
    const mountMs = performance.now() - start;
    await nextFrame();
    return { mountMs, firstFrameMs: performance.now() - start };
  },
  timeHovers(points) {
    const overlay = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap-overlay"]')!;
    const timings: HoverTiming[] = [];
    for (const { x, y } of points) {
      const start = performance.now();
      overlay.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, bubbles: true, pointerId: 1 }));
      flushSync();
      const script = performance.now() - start;
      document.querySelector('[data-testid="heatmap-tooltip"]')?.getBoundingClientRect();
      timings.push({ script, layout: performance.now() - start });
    }
    return timings;
  },
  timeZooms(points) {
    const overlay = document.querySelector<HTMLCanvasElement>('[data-testid="heatmap-overlay"]')!;
    return points.map(({ x, y }) => {
      const start = performance.now();
      overlay.dispatchEvent(
        new WheelEvent('wheel', { clientX: x, clientY: y, deltaY: -120, bubbles: true, cancelable: true }),
      );
      flushSync();
      return performance.now() - start;
    });
  },
  requestExport: () => {
    const opened = requestExport();
    flushSync();
    return opened;
  },
  warmGraphLayout: () => warmLayout(),
  async timeGraphLayout(json, options) {
    const { graph, layers } = JSON.parse(json) as { graph: GraphData; layers: LayerInfo[] };
    const { boxes, edges } = graphModel(graph, layers);
    return (await layoutGraph(boxes, edges, undefined, options ?? undefined)).ms;
  },
  longestFrameGap(timeoutMs) {
    return new Promise((resolve) => {
      const start = performance.now();
      let last = start;
      let longest = 0;
      let frames = 0;
      const tick = (now: number) => {
        frames++;
        longest = Math.max(longest, now - last);
        last = now;
        const placed = document.querySelector('[data-testid="graph-frame"]')?.getAttribute('data-placed') === 'yes';
        if (placed || now - start > timeoutMs) {
          resolve({ placed, longestGapMs: longest, frames, ms: now - start });
          return;
        }
        requestAnimationFrame(tick);
      };
      requestAnimationFrame(tick);
    });
  },
  violations: () => [...violations],
};
