/** What the harness can show; the test passes one of these (JSON) to `window.harness.show`. */
import type { ExperimentResult, LayerInfo, ModelGraph, SimilarityMatrix } from '../../../app/common/contract.js';

export type HarnessView =
  | {
      kind: 'heatmap';
      matrix: SimilarityMatrix;
      colormap?: 'viridis' | 'magma';
      bestMatch?: boolean;
      range?: [number, number];
      height?: number;
    }
  | { kind: 'matrix'; matrix: SimilarityMatrix }
  | { kind: 'result'; result: ExperimentResult }
  | { kind: 'layers'; layers: LayerInfo[]; selection?: string }
  /** The graph view over a graph the test made (the API answers modelGraph with it). */
  | { kind: 'graph'; graph: ModelGraph; layers: LayerInfo[]; selection?: string; height?: number }
  /** Benchmark baseline only: the matrix drawn by chartjs-chart-matrix. */
  | { kind: 'chartjs-matrix'; matrix: SimilarityMatrix };

export interface HoverTiming {
  /** Event handler + Svelte flush (overlay drawn, tooltip DOM updated), ms. */
  script: number;
  /** The same plus style and layout of the tooltip, ms. */
  layout: number;
}

export interface HarnessApi {
  /** Mounts the view given as JSON (a string crosses into the page far faster than an object). */
  show(viewJson: string): Promise<{ mountMs: number; firstFrameMs: number }>;
  /** Hovers each point (client pixels) with a synthetic pointermove and times the update. */
  timeHovers(points: { x: number; y: number }[]): HoverTiming[];
  /** Zooms in at each point with a synthetic wheel event and times the redraw (ms each). */
  timeZooms(points: { x: number; y: number }[]): number[];
  /** What the app does on the Export menu command: opens the export choices of the view on screen. */
  requestExport(): boolean;
  /** Starts the graph layout's worker and lays out a small graph, as the models view does. */
  warmGraphLayout(): Promise<void>;
  /** Lays out `{graph, layers}` (JSON) in the layout worker with `options` (default: the view's); ms. */
  timeGraphLayout(json: string, options: Record<string, string> | null): Promise<number>;
  /**
   * Longest gap between animation frames (ms) from now until the graph view has placed its graph
   * (or `timeoutMs` passed): how long the page was frozen while the layout ran.
   */
  longestFrameGap(timeoutMs: number): Promise<{ placed: boolean; longestGapMs: number; frames: number; ms: number }>;
  /** Content-Security-Policy violations seen so far. */
  violations(): string[];
}
