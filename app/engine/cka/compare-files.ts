/**
 * `compare` on files: two sides read from `extract` directories, folders of .npy files or single
 * .npy files (layer-files.ts), checked to share a probe set, compared by the engine, and written
 * as the result document of issue 4 (measure, n, rows/cols with provenance, matrix with nulls and
 * their reasons, intervals, timings, app version). ONNX models as sides need the activation engine.
 */
import { WorkbenchError } from '../../api/errors.js';
import type { CkaEngine } from './engine.js';
import { fileSources, readFileSide, selectLayers, type FileSide } from './layer-files.js';
import type { BootstrapOptions, CkaResult, LayerRef, MeasureSpec, RunOptions } from './types.js';

export interface CompareFilesRequest {
  a: string;
  /** Omitted: A against itself. */
  b?: string;
  /** The probe spec the sides must have been extracted with (checked against the manifests). */
  probe?: string;
  layers?: string;
  measures: MeasureSpec[];
  bootstrap?: BootstrapOptions;
}

export interface SideDocument {
  /** The directory or file given. */
  path: string;
  kind: FileSide['kind'];
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

function refuseModel(path: string): void {
  if (path.toLowerCase().endsWith('.onnx')) {
    throw new WorkbenchError(
      'UNSUPPORTED',
      `${path}: comparing ONNX models directly needs the activation engine, which is not available yet; ` +
        `extract the activations first (cka-workbench extract MODEL --probe SPEC --layers SEL --out DIR) and compare the directories`,
    );
  }
}

function checkProbes(a: FileSide, b: FileSide, probe: string | undefined): void {
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

function sideDocument(side: FileSide, layers: LayerRef[]): SideDocument {
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
  refuseModel(request.a);
  if (request.b !== undefined) refuseModel(request.b);
  const sideA = await readFileSide(request.a);
  const sideB = request.b !== undefined ? await readFileSide(request.b) : sideA;
  checkProbes(sideA, sideB, request.probe);
  const layersA = selectLayers(sideA, request.layers);
  const layersB = request.b !== undefined ? selectLayers(sideB, request.layers) : layersA;
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
