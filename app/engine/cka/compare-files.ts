/**
 * `compare` on files: two sides, each an ONNX model (run on the probe set through the activation
 * engine's on-disk cache: only layers not cached yet are extracted), a directory written by
 * `extract`, a folder of .npy files or a single .npy file (layer-files.ts); checked to share a
 * probe set, compared by the CKA engine, and written as the result document of issue 4 (measure,
 * n, rows/cols with provenance, matrix with nulls and their reasons, intervals, timings, app
 * version).
 */
import { resolve } from 'node:path';
import { WorkbenchError } from '../../common/errors.js';
import { ActivationEngine } from '../activations/engine.js';
import { fileSources, readFileSide, selectLayers, type FileSide } from './layer-files.js';
import type { BootstrapOptions, CkaEngine, CkaResult, LayerRef, Measure, RunOptions } from '../similarity/index.js';

export interface CompareFilesRequest {
  a: string;
  /** Omitted: A against itself. */
  b?: string;
  /** The probe spec the sides must have been extracted with (checked against the manifests). */
  probe?: string;
  layers?: string;
  measures: Measure[];
  bootstrap?: BootstrapOptions;
  /** Root of the activation cache used for ONNX model sides. */
  activationCacheDir?: string;
}

export interface SideDocument {
  /** The model, directory or file given. */
  path: string;
  kind: FileSide['kind'] | 'model';
  /** The model's sha256, when the side was extracted from a model. */
  sha256?: string;
  model?: { path: string; sha256: string };
  probe?: { spec: string; hash: string; n: number };
  layers: LayerRef[];
}

export interface CompareDocument extends Omit<CkaResult, 'rows' | 'cols'> {
  rows: SideDocument;
  cols: SideDocument;
  app: { name: string; version: string; onnxruntime: string };
}

function isModel(path: string): boolean {
  return path.toLowerCase().endsWith('.onnx');
}

type Side = Omit<FileSide, 'kind'> & { kind: SideDocument['kind'] };

/** A model side: its selected layers from the activation cache, extracting what is missing. */
async function modelSide(
  activations: ActivationEngine,
  path: string,
  request: CompareFilesRequest,
  run: RunOptions,
): Promise<Side> {
  if (request.probe === undefined) {
    throw new WorkbenchError('BAD_INPUT', `${path}: comparing models needs --probe (the examples to run them on)`);
  }
  const cached = await activations.cached(
    { model: path, probe: request.probe, ...(request.layers !== undefined ? { layers: request.layers } : {}) },
    {
      ...(run.signal ? { signal: run.signal } : {}),
      onProgress: (p) => run.onProgress?.({ stage: 'load', done: p.examplesDone, total: p.n, layer: path }),
    },
  );
  return {
    path: resolve(path),
    kind: 'model',
    model: cached.model,
    probe: cached.probe,
    layers: cached.layers.map((l) => ({ tensor: l.tensor, name: l.name, op: l.op, path: l.path })),
  };
}

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

function sideDocument(side: Side, layers: LayerRef[]): SideDocument {
  return {
    path: side.path,
    kind: side.kind,
    ...(side.model ? { sha256: side.model.sha256, model: side.model } : {}),
    ...(side.probe ? { probe: side.probe } : {}),
    layers,
  };
}

export async function compareFiles(
  engine: CkaEngine,
  request: CompareFilesRequest,
  app: CompareDocument['app'],
  run: RunOptions = {},
): Promise<CompareDocument[]> {
  const needsModels = isModel(request.a) || (request.b !== undefined && isModel(request.b));
  if (needsModels && !request.activationCacheDir) {
    throw new WorkbenchError('INTERNAL', 'comparing models needs an activation cache directory');
  }
  const activations = needsModels ? new ActivationEngine({ cacheDir: request.activationCacheDir! }) : null;
  const readSide = async (path: string): Promise<Side> =>
    isModel(path) ? modelSide(activations!, path, request, run) : readFileSide(path);
  const select = (side: Side) => (side.kind === 'model' ? side.layers : selectLayers(side as FileSide, request.layers));
  let sideA: Side;
  let sideB: Side;
  try {
    sideA = await readSide(request.a);
    sideB = request.b !== undefined ? await readSide(request.b) : sideA;
  } finally {
    await activations?.close();
  }
  checkProbes(sideA, sideB, request.probe);
  const layersA = select(sideA);
  const layersB = request.b !== undefined ? select(sideB) : layersA;
  const rows = fileSources(layersA);
  const results = await engine.compare(rows, request.b !== undefined ? fileSources(layersB) : null, request.measures, {
    ...run,
    ...(request.bootstrap ? { bootstrap: request.bootstrap } : {}),
  });
  return results.map((result) => ({
    ...result,
    rows: sideDocument(sideA, result.rows),
    cols: sideDocument(sideB, result.cols),
    app,
  }));
}
