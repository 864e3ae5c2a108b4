/**
 * Matrices and results for the harness, made in Node so the test knows every number it expects
 * on screen: smooth "similar depth is similar" structure plus seeded noise, layer names from the
 * real fixture models where wanted, undefined cells and bootstrap intervals on request.
 */
import type {
  ExperimentResult,
  LayerRef,
  MeasureInfo,
  ResultModel,
  SeedsSummary,
  SimilarityMatrix,
} from '../../../app/common/contract.js';
import { inspectModelFile } from '../../../app/engine/runner/inspect-model.js';
import { seededRandom } from '../../helpers/fuzz.js';

export function numberedLayers(count: number, prefix: string): LayerRef[] {
  return Array.from({ length: count }, (_, i) => ({
    tensor: `/${prefix}/${prefix}.${i}/Relu_output_0`,
    name: `${prefix}.${i}.relu`,
  }));
}

/** The layers of a fixture ONNX model as the engine catalogues them. */
export async function fixtureLayers(path: string): Promise<LayerRef[]> {
  const summary = await inspectModelFile(path);
  return summary.layers.map((l) => ({ tensor: l.tensor, name: l.name }));
}

export interface MatrixOptions {
  rowLayers: LayerRef[];
  colLayers: LayerRef[];
  rowLabel: string;
  colLabel: string;
  rowModel?: number;
  colModel?: number;
  seed?: number;
  undefinedCells?: { row: number; col: number; reason: string }[];
  withIntervals?: boolean;
  measure?: MeasureInfo;
  n?: number;
}

export function syntheticMatrix(options: MatrixOptions): SimilarityMatrix {
  const random = seededRandom(options.seed ?? 1);
  const rows = options.rowLayers.length;
  const cols = options.colLayers.length;
  const undefinedCells = options.undefinedCells ?? [];
  const isUndefined = (r: number, c: number) => undefinedCells.some((u) => u.row === r && u.col === c);
  const matrix = Array.from({ length: rows }, (_, r) =>
    Array.from({ length: cols }, (_, c) => {
      if (isUndefined(r, c)) return null;
      const depth = r / Math.max(1, rows - 1) - c / Math.max(1, cols - 1);
      const v = 0.15 + 0.75 * Math.exp(-(depth * depth) / 0.05) + 0.1 * (random() - 0.5);
      return Math.min(1, Math.max(0, v));
    }),
  );
  const interval = (sign: number) =>
    matrix.map((row) =>
      row.map((v) => (v === null ? null : Math.min(1, Math.max(0, v + sign * (0.01 + 0.03 * random()))))),
    );
  return {
    measure: options.measure ?? { name: 'linear', params: {} },
    n: options.n ?? 500,
    rows: { model: options.rowModel ?? 0, label: options.rowLabel, layers: options.rowLayers },
    cols: { model: options.colModel ?? 1, label: options.colLabel, layers: options.colLayers },
    matrix,
    undefined: undefinedCells,
    ...(options.withIntervals ? { ci: { lo: interval(-1), hi: interval(1), level: 0.95, samples: 200, seed: 7 } } : {}),
  };
}

function resultModel(label: string, layers: LayerRef[], index: number): ResultModel {
  return { path: `/zoo/${label}`, sha256: `${index}`.repeat(64).slice(0, 64), label, layers };
}

function baseResult(
  kind: ExperimentResult['spec']['kind'],
  models: ResultModel[],
  matrices: SimilarityMatrix[],
): ExperimentResult {
  return {
    spec: {
      name: `${kind} experiment`,
      kind,
      models: models.map((m) => ({ path: m.path, label: m.label })),
      probe: 'fashion-mnist:500',
      layers: 'all',
      measures: ['linear'],
    },
    models,
    probe: { spec: 'fashion-mnist:500', hash: 'f'.repeat(64), n: 500 },
    matrices,
    partial: false,
    provenance: {
      appVersion: '0.1.0',
      onnxruntime: '1.30.0',
      startedAt: '2026-11-27T10:00:00.000Z',
      finishedAt: '2026-11-27T10:01:00.000Z',
      timingsMs: { total: 60_000 },
    },
  };
}

/** k seeds of one architecture: every ordered pair's matrix, and the summary computed from them. */
export function seedsResult(k: number, layers: LayerRef[]): ExperimentResult {
  const models = Array.from({ length: k }, (_, i) => resultModel(`plain-d8-s${i}.onnx`, layers, i));
  const matrices: SimilarityMatrix[] = [];
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      if (i === j) continue;
      matrices.push(
        syntheticMatrix({
          rowLayers: layers,
          colLayers: layers,
          rowLabel: models[i]!.label,
          colLabel: models[j]!.label,
          rowModel: i,
          colModel: j,
          seed: 100 + i * k + j,
        }),
      );
    }
  }
  const size = layers.length;
  const mean: number[][] = [];
  const std: number[][] = [];
  for (let r = 0; r < size; r++) {
    mean.push([]);
    std.push([]);
    for (let c = 0; c < size; c++) {
      const values = matrices.map((m) => m.matrix[r]![c]!);
      const mu = values.reduce((a, b) => a + b, 0) / values.length;
      mean[r]!.push(mu);
      std[r]!.push(Math.sqrt(values.reduce((a, v) => a + (v - mu) ** 2, 0) / (values.length - 1)));
    }
  }
  const accuracyPerPair = matrices.map((m) => {
    let hits = 0;
    m.matrix.forEach((row, r) => {
      const best = row.indexOf(Math.max(...(row as number[])));
      if (best === r) hits++;
    });
    return { rowModel: m.rows.model, colModel: m.cols.model, accuracy: hits / size };
  });
  const summary: SeedsSummary = {
    measure: { name: 'linear', params: {} },
    mean,
    std,
    accuracy: accuracyPerPair.reduce((a, p) => a + p.accuracy, 0) / accuracyPerPair.length,
    accuracyPerPair,
  };
  return { ...baseResult('seeds', models, matrices), seeds: [summary] };
}

/** A family of architectures: the upper triangle of pairs plus each model with itself. */
export function familyResult(labels: string[], depths: number[]): ExperimentResult {
  const models = labels.map((label, i) => resultModel(label, numberedLayers(depths[i]!, `m${i}`), i));
  const matrices: SimilarityMatrix[] = [];
  for (let i = 0; i < models.length; i++) {
    for (let j = i; j < models.length; j++) {
      matrices.push(
        syntheticMatrix({
          rowLayers: models[i]!.layers,
          colLayers: models[j]!.layers,
          rowLabel: models[i]!.label,
          colLabel: models[j]!.label,
          rowModel: i,
          colModel: j,
          seed: 300 + i * 10 + j,
        }),
      );
    }
  }
  return baseResult('family', models, matrices);
}
