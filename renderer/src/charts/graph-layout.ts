/**
 * Where the graph view's boxes and edges go: elkjs's layered layout (Sugiyama: layers top to
 * bottom, crossings minimised, edges routed between the layers), run in a worker of its own
 * (graph-layout.worker.ts) so the page stays responsive however large the graph.
 *
 * One worker serves every layout. A fresh worker's first layouts are several times slower than
 * later ones (the compiled ELK warms up), so the models view warms it while the user reads a
 * model's summary; a layout no longer wanted stops the worker (a new one follows).
 */
import ElkApi from 'elkjs/lib/elk-api.js';
import type { ELK as ElkInstance, ELKConstructorArguments, ElkExtendedEdge, ElkNode } from 'elkjs/lib/elk-api.js';
import type { GraphBox, GraphEdge } from './graph-model.js';

type ElkConstructor = new (args?: ELKConstructorArguments) => ElkInstance;
/** elk-api is CommonJS: bundlers hand its class as the default import, Node's typings as its `default`. */
const ELK = ((ElkApi as unknown as { default?: ElkConstructor }).default ??
  (ElkApi as unknown as ElkConstructor)) as ElkConstructor;

export interface Point {
  x: number;
  y: number;
}

export interface PlacedGraph {
  width: number;
  height: number;
  /** Top-left corner of each box, by box id. */
  at: Map<string, Point>;
  /** Each edge's route, start to end. */
  routes: { id: string; points: Point[] }[];
  /** Milliseconds from asking to the answer. */
  ms: number;
}

/**
 * Top to bottom like Netron; the file's (topological) order breaks ties in crossing minimisation,
 * one pass of it (thoroughness 1): 2–3× faster than the default on graphs of hundreds of nodes.
 */
export const LAYOUT_OPTIONS: Record<string, string> = {
  'elk.algorithm': 'layered',
  'elk.direction': 'DOWN',
  'elk.edgeRouting': 'POLYLINE',
  'elk.layered.thoroughness': '1',
  'elk.layered.considerModelOrder.strategy': 'NODES_AND_EDGES',
  'elk.spacing.nodeNode': '18',
  'elk.layered.spacing.nodeNodeBetweenLayers': '26',
  'elk.spacing.edgeNode': '10',
  'elk.padding': '[top=12,left=12,bottom=12,right=12]',
};

let shared: { elk: ElkInstance; worker: Worker; failed: Promise<never> } | null = null;

function engine(): NonNullable<typeof shared> {
  if (shared) return shared;
  const worker = new Worker(new URL('./graph-layout.worker.ts', import.meta.url), { type: 'module' });
  const failed = new Promise<never>((_, reject) => {
    worker.addEventListener(
      'error',
      (e) => reject(new Error(`the layout worker failed: ${e.message || 'no reason'}`)),
      {
        once: true,
      },
    );
  });
  failed.catch(() => undefined);
  shared = { elk: new ELK({ workerFactory: () => worker }), worker, failed };
  return shared;
}

function stopEngine(): void {
  shared?.worker.terminate();
  shared = null;
}

function elkGraph(
  boxes: readonly Pick<GraphBox, 'id' | 'width' | 'height'>[],
  edges: readonly GraphEdge[],
  options: Record<string, string> = LAYOUT_OPTIONS,
): ElkNode {
  return {
    id: 'root',
    layoutOptions: options,
    children: boxes.map((b) => ({ id: b.id, width: b.width, height: b.height })),
    edges: edges.map((e): ElkExtendedEdge => ({ id: e.id, sources: [e.source], targets: [e.target] })),
  };
}

let warming: Promise<void> | null = null;

/**
 * Starts the worker and lays out a residual chain of 200 nodes twice, so the first real layout
 * runs compiled code: a fresh worker's first layouts are several times slower (npm run bench -- graph).
 */
export function warmLayout(): Promise<void> {
  if (warming && shared) return warming;
  const boxes = Array.from({ length: 200 }, (_, i) => ({ id: `w${i}`, width: 120 + (i % 5) * 20, height: 52 }));
  const edges: GraphEdge[] = boxes.slice(1).map((b, i) => ({ id: `e${i}`, source: `w${i}`, target: b.id }));
  for (let i = 6; i < boxes.length; i += 6) edges.push({ id: `s${i}`, source: `w${i - 5}`, target: `w${i}` });
  const { elk, failed } = engine();
  const once = () => Promise.race([elk.layout(elkGraph(boxes, edges)), failed]);
  warming = once()
    .then(once)
    .then(
      () => undefined,
      () => undefined,
    );
  return warming;
}

/**
 * Lays the graph out in the worker; the signal stops the worker (and rejects) when the view goes.
 * `options` replace LAYOUT_OPTIONS (the benchmark's baseline: ELK's defaults).
 */
export async function layoutGraph(
  boxes: readonly GraphBox[],
  edges: readonly GraphEdge[],
  signal?: AbortSignal,
  options?: Record<string, string>,
): Promise<PlacedGraph> {
  const started = performance.now();
  const { elk, failed } = engine();
  let stop = () => undefined as void;
  const aborted = new Promise<never>((_, reject) => {
    stop = () => {
      stopEngine();
      reject(new DOMException('the graph view closed', 'AbortError'));
    };
  });
  aborted.catch(() => undefined);
  if (signal?.aborted) stop();
  signal?.addEventListener('abort', stop, { once: true });
  let placed: ElkNode;
  try {
    placed = await Promise.race([elk.layout(elkGraph(boxes, edges, options)), aborted, failed]);
  } finally {
    // A layout that is done keeps the worker for the next one.
    signal?.removeEventListener('abort', stop);
  }
  const at = new Map<string, Point>();
  for (const child of placed.children ?? []) at.set(child.id, { x: child.x ?? 0, y: child.y ?? 0 });
  const routes = (placed.edges ?? []).map((edge) => {
    const points: Point[] = [];
    for (const section of (edge as ElkExtendedEdge).sections ?? []) {
      points.push(section.startPoint, ...(section.bendPoints ?? []), section.endPoint);
    }
    return { id: edge.id, points };
  });
  return { width: placed.width ?? 0, height: placed.height ?? 0, at, routes, ms: performance.now() - started };
}
