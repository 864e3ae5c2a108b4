/**
 * A one-off comparison of two sides, kept in no history: each side an ONNX model (run on the probe
 * set through the activation cache: only layers not cached yet are extracted), a directory written
 * by `extract`, a folder of .npy files or one .npy file. The sides must share their examples; the
 * CKA engine compares them, and the result has the same matrices a run's result has.
 */
import { basename, resolve } from 'node:path';
import type { ComparedSide, ComparisonResult, CompareRequest, JobProgress, LayerRef } from '../../common/contract.js';
import { WorkbenchError } from '../../common/errors.js';
import { ActivationEngine, type ActivationEngineOptions } from '../activations/engine.js';
import { fileSources, readFileSide, selectLayers, type LayerFileEntry } from '../activations/layer-files.js';
import type { CkaEngine } from '../similarity/index.js';
import { parseMeasure } from '../cka/measures.js';
import { similarityMatrix } from './matrices.js';

export type SideProgress = Omit<JobProgress, 'jobId'>;

export interface CompareSidesOptions {
  cka: CkaEngine;
  /** Root of the activation cache for model sides, and how their runner starts. */
  activations: Pick<ActivationEngineOptions, 'cacheDir' | 'modelsDir' | 'runnerOptions' | 'maxProbeExamples'>;
  app: { version: string; onnxruntime: string };
  signal?: AbortSignal;
  onProgress?: (progress: SideProgress) => void;
}

interface Side extends Omit<ComparedSide, 'layers'> {
  layers: LayerFileEntry[];
}

export function isModelPath(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

/** A model side: its selected layers from the activation cache, extracting what is missing. */
async function modelSide(
  activations: ActivationEngine,
  path: string,
  request: CompareRequest,
  options: CompareSidesOptions,
): Promise<Side> {
  if (request.probe === undefined) {
    throw new WorkbenchError('BAD_INPUT', `${path}: comparing a model needs a probe set (the examples to run it on)`, {
      field: 'probe',
    });
  }
  const cached = await activations.cached(
    { model: path, probe: request.probe, ...(request.layers !== undefined ? { layers: request.layers } : {}) },
    {
      ...(options.signal ? { signal: options.signal } : {}),
      onProgress: (p) =>
        options.onProgress?.({
          stage: 'extract',
          done: p.examplesDone,
          total: p.n,
          message: `extracting ${basename(path)}: batch ${p.batchesDone}/${p.batchesTotal}, ${p.examplesDone}/${p.n} examples`,
          examplesPerSecond: p.examplesPerSecond,
        }),
    },
  );
  return {
    path: resolve(path),
    kind: 'model',
    label: basename(path),
    model: cached.model,
    probe: cached.probe,
    layers: cached.layers.map((l) => ({ tensor: l.tensor, name: l.name, op: l.op, path: l.path })),
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
    layers: selectLayers(side, layers),
  };
}

/** Both sides must hold the same examples: the requested probe set, and one probe hash. */
function checkProbes(a: Side, b: Side, probe: string | undefined): void {
  for (const side of [a, b]) {
    if (probe !== undefined && side.probe && side.probe.spec !== probe) {
      throw new WorkbenchError(
        'BAD_INPUT',
        `${side.path} was extracted with probe '${side.probe.spec}', not '${probe}'`,
      );
    }
  }
  if (a.probe && b.probe && a.probe.hash !== b.probe.hash) {
    throw new WorkbenchError(
      'BAD_INPUT',
      `${a.path} and ${b.path} were extracted on different probe sets ('${a.probe.spec}', hash ${a.probe.hash.slice(0, 12)}…, vs '${b.probe.spec}', hash ${b.probe.hash.slice(0, 12)}…): CKA compares the same examples`,
    );
  }
}

function comparedSide(side: Side, layers: LayerRef[]): ComparedSide {
  return { ...side, layers };
}

export async function compareSides(request: CompareRequest, options: CompareSidesOptions): Promise<ComparisonResult> {
  const startedAt = new Date();
  const measures = request.measures.map(parseMeasure);
  const needsModels = isModelPath(request.a) || (request.b !== undefined && isModelPath(request.b));
  const activations = needsModels ? new ActivationEngine(options.activations) : null;
  const readSide = (path: string) =>
    isModelPath(path) ? modelSide(activations!, path, request, options) : fileSide(path, request.layers);
  let sideA: Side;
  let sideB: Side;
  try {
    sideA = await readSide(request.a);
    sideB = request.b !== undefined ? await readSide(request.b) : sideA;
  } finally {
    await activations?.close();
  }
  checkProbes(sideA, sideB, request.probe);
  const self = request.b === undefined;
  const rows = fileSources(sideA.layers);
  const results = await options.cka.compare(rows, self ? null : fileSources(sideB.layers), measures, {
    ...(options.signal ? { signal: options.signal } : {}),
    onProgress: (p) =>
      options.onProgress?.({
        stage: p.stage,
        done: p.done,
        total: p.total,
        message: `${p.stage} ${p.done}/${p.total}${p.layer ? ` (${p.layer})` : ''}`,
      }),
    ...(request.bootstrap ? { bootstrap: request.bootstrap } : {}),
  });
  const matrices = results.map((r) =>
    similarityMatrix(r, { model: 0, label: sideA.label }, { model: self ? 0 : 1, label: sideB.label }, true),
  );
  const timingsMs = results[0] ? { ...results[0].timings } : {};
  return {
    sides: self
      ? [comparedSide(sideA, matrices[0]?.rows.layers ?? [])]
      : [comparedSide(sideA, matrices[0]?.rows.layers ?? []), comparedSide(sideB, matrices[0]?.cols.layers ?? [])],
    matrices,
    provenance: {
      appVersion: options.app.version,
      onnxruntime: options.app.onnxruntime,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      timingsMs,
    },
  };
}
