/**
 * A one-off comparison of two sides, kept in no history: each side an ONNX model (run on its probe
 * set through the activation cache: only layers not cached yet are extracted), a directory written
 * by `extract`, a folder of .npy files or one .npy file. The sides must share their examples: one
 * probe set, or — with `probeB` — B's own view of the same examples (as many, in the same order);
 * under `tokens` the same tokens too. The CKA engine compares them, and the result has the same
 * matrices a run's result has, each layer with its reduction, and the layers left out with why.
 * Models' activations and Grams in the workbench's cache are registered in its index and held while
 * the compare runs (one-off-cache.ts): counted, bounded by the limit, never evicted under it.
 * What only models need (the activation engine, the streaming path, the cache's bookkeeping, and
 * with them the ONNX and probe code) is imported when a side is a model: a compare of extracted
 * folders starts its CKA workers without loading it.
 */
import { basename, resolve } from 'node:path';
import type {
  ComparedSide,
  ComparisonResult,
  CompareRequest,
  JobProgress,
  LayerRef,
  Reduction,
} from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import type { ActivationEngine, ActivationEngineOptions } from '../activations/engine.js';
import type { CkaResult, Measure } from '../cka/types.js';
import { fileSources, readFileSide, selectLayers, type LayerFileEntry } from '../activations/layer-files.js';
import type { CkaEngine } from '../similarity/index.js';
import { parseMeasure } from '../cka/measures.js';
import { similarityMatrix, withReductions } from './matrices.js';
import { checkRows } from './layer-rows.js';
import type { StreamedModel } from './stream-types.js';
import type { PlannedLayer } from '../activations/prepare.js';
import type { CacheIndex } from '../store/cache-index.js';
import type { OneOffCacheUse } from './one-off-cache.js';

export type SideProgress = Omit<JobProgress, 'jobId'>;

export interface CompareSidesOptions {
  cka: CkaEngine;
  /** Root of the activation cache for model sides, and how their runner starts. */
  activations: Pick<ActivationEngineOptions, 'cacheDir' | 'modelsDir' | 'runnerOptions' | 'maxProbeExamples'>;
  app: { version: string; onnxruntime: string };
  signal?: AbortSignal;
  onProgress?: (progress: SideProgress) => void;
  /**
   * The index of the cache `activations.cacheDir` belongs to (the data directory's): model sides'
   * activations are registered, held and bounded there. Opened only when a side is a model.
   */
  cacheIndex?: () => Promise<CacheIndex>;
}

interface SideLayer extends LayerFileEntry {
  reduction: Reduction;
}

interface Side extends Omit<ComparedSide, 'layers'> {
  layers: SideLayer[];
}

export function isModelPath(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

/** A model side: its selected layers from the activation cache, extracting what is missing. */
async function modelSide(
  activations: ActivationEngine,
  path: string,
  which: 'a' | 'b',
  request: CompareRequest,
  options: CompareSidesOptions,
  cacheUse: OneOffCacheUse | null,
): Promise<Side> {
  const { extractionRequestOf } = await import('./stream-compare.js');
  const cached = await activations.cached(extractionRequestOf(path, which, request), {
    ...(options.signal ? { signal: options.signal } : {}),
    ...cacheUse?.cacheOptions(),
    onProgress: (p) =>
      options.onProgress?.({
        stage: 'extract',
        done: p.examplesDone,
        total: p.n,
        message: `extracting ${basename(path)}: batch ${p.batchesDone}/${p.batchesTotal}, ${p.examplesDone}/${p.n} examples`,
        examplesPerSecond: p.examplesPerSecond,
      }),
  });
  await cacheUse?.register(cached);
  return {
    path: resolve(path),
    kind: 'model',
    label: basename(path),
    model: cached.model,
    probe: cached.probe,
    layers: cached.layers.map((l) => ({
      tensor: l.tensor,
      name: l.name,
      op: l.op,
      path: l.path,
      reduction: l.reduction ?? 'flatten',
      rows: l.rows ?? cached.probe.n,
      ...(l.tokenization !== undefined ? { tokenization: l.tokenization } : {}),
    })),
    ...(cached.omitted.length > 0 ? { omitted: cached.omitted } : {}),
  };
}

/** A model side as the streaming path prepared it (layers without a cached file have no path). */
function streamedSide(path: string, m: StreamedModel): Side {
  return {
    path: resolve(path),
    kind: 'model',
    label: basename(path),
    model: m.model,
    probe: m.probe,
    layers: m.layers.map((l) => ({
      tensor: l.tensor,
      name: l.name,
      op: l.op,
      path: l.path ?? '',
      reduction: l.reduction,
      rows: l.rows,
      ...(l.tokenization !== undefined ? { tokenization: l.tokenization } : {}),
    })),
    ...(m.omitted.length > 0 ? { omitted: m.omitted } : {}),
  };
}

async function fileSide(path: string, layers: string | undefined): Promise<Side> {
  const side = await readFileSide(path);
  return {
    path: side.path,
    kind: side.kind,
    label: basename(side.path),
    ...(side.model ? { model: side.model } : {}),
    ...(side.probe ? { probe: side.probe } : {}),
    layers: selectLayers(side, layers).map((l) => ({
      ...l,
      reduction: l.reduction ?? 'flatten',
      ...(l.rows !== undefined ? { rows: l.rows } : side.probe ? { rows: side.probe.n } : {}),
      ...(l.tokenization !== undefined ? { tokenization: l.tokenization } : {}),
    })),
    ...(side.omitted && side.omitted.length > 0 ? { omitted: side.omitted } : {}),
  };
}

/**
 * Both sides must hold the same examples: the requested probe sets, and one probe hash — unless B
 * has its own (a view of the same examples), when only the counts must agree.
 */
function checkProbes(a: Side, b: Side, probe: string | undefined, probeB: string | undefined): void {
  for (const [side, wanted] of [
    [a, probe],
    [b, probeB ?? probe],
  ] as const) {
    if (wanted !== undefined && side.kind !== 'model' && side.probe && side.probe.spec !== wanted) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${side.path} was extracted with probe '${side.probe.spec}', not '${wanted}'`,
      );
    }
  }
  // Two models opened the same spec each for its own inputs (an image folder at each one's size
  // and layout, a text file through each one's tokenizer): the same examples, seen two ways.
  const adapted = a.kind === 'model' && b.kind === 'model';
  if (probeB !== undefined || adapted) {
    if (a.probe && b.probe && a.probe.n !== b.probe.n) {
      throw new WorkbenchError(
        'BAD_PROBE',
        `the two views must hold the same examples: '${a.probe.spec}' has ${a.probe.n} and '${b.probe.spec}' has ${b.probe.n}`,
      );
    }
    return;
  }
  if (a.probe && b.probe && a.probe.hash !== b.probe.hash) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${a.path} and ${b.path} were extracted on different probe sets ('${a.probe.spec}', hash ${a.probe.hash.slice(0, 12)}…, vs '${b.probe.spec}', hash ${b.probe.hash.slice(0, 12)}…): CKA compares the same examples (declare views of the same examples with probeB)`,
    );
  }
}

/** Rows of every layer agree (the same examples, or under `tokens` the same tokens). */
function checkSideRows(sides: readonly Side[]): void {
  const known = sides.map((s) => ({
    label: s.label,
    layers: s.layers
      .filter((l) => l.rows !== undefined)
      .map((l) => ({ ...l, rows: l.rows!, key: l.tensor, dtype: '', shape: null, features: 0 }) as PlannedLayer),
  }));
  if (known.some((s) => s.layers.length > 0)) checkRows(known.filter((s) => s.layers.length > 0));
}

function comparedSide(side: Side, layers: LayerRef[]): ComparedSide {
  const { layers: _, ...rest } = side;
  return { ...rest, layers };
}

const ckaProgress =
  (options: CompareSidesOptions) =>
  (p: { stage: JobProgress['stage']; done: number; total: number; layer?: string }): void =>
    options.onProgress?.({
      stage: p.stage,
      done: p.done,
      total: p.total,
      message: `${p.stage} ${p.done}/${p.total}${p.layer ? ` (${p.layer})` : ''}`,
    });

/**
 * Two models (or one with itself): straight from their extraction when the measures allow it
 * (stream-compare.ts); null when the activation cache's files are to be compared instead.
 */
async function streamModels(
  request: CompareRequest,
  measures: readonly Measure[],
  options: CompareSidesOptions,
  cacheUse: OneOffCacheUse | null,
): Promise<{ sides: [Side, Side]; results: CkaResult[] | null } | null> {
  const paths = request.b === undefined ? [request.a] : [request.a, request.b];
  const sidesOf = (models: readonly StreamedModel[]): [Side, Side] => {
    const sides = models.map((m, i) => streamedSide(paths[i]!, m));
    return [sides[0]!, sides[1] ?? sides[0]!];
  };
  const names = paths.map((p) => basename(p)).join(' and ');
  const cacheDir = options.activations.cacheDir;
  const { precision } = options.cka;
  // The models' cache entries are held from before the stream reads them, and what it found or
  // kept is registered however it ends (a cancel after a model's layers were written included).
  let held: readonly StreamedModel[] | null = null;
  const { streamCompare } = await import('./stream-compare.js');
  let outcome: Awaited<ReturnType<typeof streamCompare>>;
  try {
    outcome = await streamCompare(request, measures, {
      cka: options.cka,
      activations: options.activations,
      ...(options.signal ? { signal: options.signal } : {}),
      onExtractProgress: (done, total, examplesPerSecond) =>
        options.onProgress?.({
          stage: 'extract',
          done,
          total,
          message: `extracting ${names}: ${done}/${total} examples`,
          examplesPerSecond,
        }),
      onCkaProgress: ckaProgress(options),
      check: (models) => {
        const [a, b] = sidesOf(models);
        checkProbes(a, b, request.probe, request.probeB);
        checkSideRows(request.b === undefined ? [a] : [a, b]);
      },
      ...(cacheUse
        ? {
            hold: (models: readonly StreamedModel[]) => {
              held = models;
              cacheUse.holdStreamed(models, precision);
            },
            room: cacheUse.cacheOptions().room,
          }
        : {}),
    });
  } finally {
    // Not registering is not worth failing the compare for: the files stay, found by a later lookup.
    if (cacheUse && held && cacheDir !== undefined) {
      await cacheUse.registerStreamed(held, cacheDir, precision).catch(() => undefined);
    }
  }
  if (outcome.kind === 'files') return null;
  return { sides: sidesOf(outcome.models), results: outcome.kind === 'streamed' ? outcome.results : null };
}

/** Whether A or B is a model (run on the probe) rather than files of activations. */
const hasModelSide = (request: CompareRequest): boolean =>
  isModelPath(request.a) || (request.b !== undefined && isModelPath(request.b));

export async function compareSides(request: CompareRequest, options: CompareSidesOptions): Promise<ComparisonResult> {
  const startedAt = new Date();
  const needsModels = hasModelSide(request);
  const notes: string[] = [];
  let cacheUse: OneOffCacheUse | null = null;
  if (needsModels && options.cacheIndex) {
    const { OneOffCacheUse } = await import('./one-off-cache.js');
    cacheUse = new OneOffCacheUse(await options.cacheIndex(), (message) => notes.push(message));
  }
  try {
    return await streamOrReadAndCompare(request, options, cacheUse, notes, startedAt);
  } finally {
    // A failed eviction (the database busy in another process) must not replace the compare's
    // result or its error: the cache is brought under its limit again by the next run or compare.
    await cacheUse?.end().catch(() => undefined);
  }
}

async function streamOrReadAndCompare(
  request: CompareRequest,
  options: CompareSidesOptions,
  cacheUse: OneOffCacheUse | null,
  notes: string[],
  startedAt: Date,
): Promise<ComparisonResult> {
  const measures = request.measures.map(parseMeasure);
  const self = request.b === undefined;
  const allModels = isModelPath(request.a) && (self || isModelPath(request.b!));
  const streamed = allModels ? await streamModels(request, measures, options, cacheUse) : null;
  let sideA: Side;
  let sideB: Side;
  let results: CkaResult[];
  if (streamed?.results) {
    [sideA, sideB] = streamed.sides;
    results = streamed.results;
  } else {
    if (streamed) {
      [sideA, sideB] = streamed.sides;
    } else {
      [sideA, sideB] = await readSides(request, options, cacheUse);
      checkProbes(sideA, sideB, request.probe, request.probeB);
      checkSideRows(self ? [sideA] : [sideA, sideB]);
    }
    results = await options.cka.compare(fileSources(sideA.layers), self ? null : fileSources(sideB.layers), measures, {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: ckaProgress(options),
      ...(request.bootstrap ? { bootstrap: request.bootstrap } : {}),
    });
  }
  const matrices = results.map((r) =>
    withReductions(
      similarityMatrix(r, { model: 0, label: sideA.label }, { model: self ? 0 : 1, label: sideB.label }, true),
      sideA.layers,
      sideB.layers,
    ),
  );
  const timingsMs = results[0] ? { ...results[0].timings } : {};
  return {
    sides: self
      ? [comparedSide(sideA, matrices[0]?.rows.layers ?? [])]
      : [comparedSide(sideA, matrices[0]?.rows.layers ?? []), comparedSide(sideB, matrices[0]?.cols.layers ?? [])],
    matrices,
    ...(notes.length > 0 ? { notes } : {}),
    provenance: {
      appVersion: options.app.version,
      onnxruntime: options.app.onnxruntime,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      timingsMs,
    },
  };
}

/** The two sides from the activation cache (models: extracting what is missing) or from files. */
async function readSides(
  request: CompareRequest,
  options: CompareSidesOptions,
  cacheUse: OneOffCacheUse | null,
): Promise<[Side, Side]> {
  const needsModels = hasModelSide(request);
  let activations: ActivationEngine | null = null;
  if (needsModels) {
    const { ActivationEngine } = await import('../activations/engine.js');
    activations = new ActivationEngine(options.activations);
  }
  const readSide = (path: string, which: 'a' | 'b') =>
    isModelPath(path)
      ? modelSide(activations!, path, which, request, options, cacheUse)
      : fileSide(path, which === 'b' ? (request.layersB ?? request.layers) : request.layers);
  try {
    const sideA = await readSide(request.a, 'a');
    const sideB = request.b !== undefined ? await readSide(request.b, 'b') : sideA;
    return [sideA, sideB];
  } finally {
    await activations?.close();
  }
}
