/**
 * Experiments end to end through the WorkbenchApi on the shipped zoo: each kind, checked against
 * numpy on the same layers' activations extracted apart, the seeds summary recomputed here, bootstrap and
 * minibatch measures, and the history methods.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExperimentResult, SimilarityMatrix } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { readExtractManifest } from '../../app/engine/activations/extract-dir.js';
import { kindSpecs, runExperimentToEnd, runSpec, tempDataDir, removeTempDataDirs } from '../helpers/experiments.js';
import { repoRoot } from '../helpers/paths.js';

let api: Workbench;
let dataDir: string;
beforeAll(() => {
  dataDir = tempDataDir();
  api = createWorkbench({ dataDir });
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

const references = new Map<string, Promise<Map<string, string>>>();

/**
 * Activation file of every layer of every model of a result, from a one-off extraction of the same
 * model, probe and layers (not from the run's cache: a run keeps only the Grams of wide layers).
 */
async function activationFiles(result: ExperimentResult): Promise<Map<string, string>[]> {
  return Promise.all(
    result.models.map((m) => {
      const layers = m.layers.map((l) => l.tensor).join(',');
      const key = `${m.sha256}\0${result.probe.hash}\0${layers}`;
      let files = references.get(key);
      if (!files) {
        const out = join(dataDir, 'references', String(references.size));
        files = api.extractActivations({ model: m.path, probe: result.probe.spec, layers, out }).then(async () => {
          const manifest = await readExtractManifest(out);
          return new Map((manifest?.layers ?? []).map((l) => [l.tensor, join(out, l.file)]));
        });
        references.set(key, files);
      }
      return files;
    }),
  );
}

/** Every cell of `matrices` recomputed by numpy (the paper demo's formulas) from the activations. */
async function numpyValues(result: ExperimentResult, matrices: SimilarityMatrix[], measure: string) {
  const files = await activationFiles(result);
  const pairs: [string, string][] = [];
  for (const m of matrices) {
    for (const r of m.rows.layers) {
      for (const c of m.cols.layers)
        pairs.push([files[m.rows.model]!.get(r.tensor)!, files[m.cols.model]!.get(c.tensor)!]);
    }
  }
  const out = execFileSync('/usr/bin/python3', [join(repoRoot, 'test/helpers/cka_reference.py')], {
    input: JSON.stringify({ pairs, measures: [measure] }),
    maxBuffer: 16 * 2 ** 20,
  });
  return (JSON.parse(out.toString()) as number[][]).map((v) => v[0]!);
}

/**
 * Minibatch CKA (probe order) and the bootstrap intervals of linear CKA recomputed by numpy with the
 * CKA fixtures' formulas (test/fixtures/cka/make_cka_fixtures.py: minibatch HSIC₁ sums; resampled
 * kernels gathered as K[idx][:, idx] with the shared Mulberry32 draws) from the activations.
 */
const NUMPY_MINIBATCH_AND_BOOTSTRAP = `
import json, os, sys
import numpy as np
sys.path.insert(0, os.path.join(sys.argv[1], "test", "fixtures", "cka"))
from make_cka_fixtures import bootstrap, gram_linear, minibatch_cka
request = json.load(sys.stdin)
def load(path):
    x = np.load(path).astype(np.float64)
    return x.reshape(x.shape[0], -1)
xs = [load(p) for p in request["rows"]]
ys = [load(p) for p in request["cols"]]
matrix, batches, dropped = minibatch_cka(xs, ys, request["batchSize"])
b = request["bootstrap"]
intervals = bootstrap(xs, ys, gram_linear, False, b["samples"], b["seed"], b["level"])
json.dump({"minibatch": {"matrix": matrix, "batches": batches, "dropped": dropped}, "bootstrap": intervals}, sys.stdout)
`;

function maxDifference(matrices: SimilarityMatrix[], expected: number[]): number {
  const got = matrices.flatMap((m) => m.matrix.flat());
  expect(got.length).toBe(expected.length);
  return Math.max(...got.map((v, i) => Math.abs((v as number) - expected[i]!)));
}

describe('experiments through the API', () => {
  it('pair: every layer of A against every layer of B, each measure, as numpy computes them', async () => {
    const { run, result } = await runSpec(api, kindSpecs.pair);
    expect(run.status).toBe('done');
    expect(result!.partial).toBe(false);
    expect(result!.models.map((m) => m.layers.length)).toEqual([3, 6]);
    expect(result!.matrices.map((m) => m.measure.name)).toEqual(['linear', 'rbf', 'debiased']);
    for (const m of result!.matrices) {
      expect([m.rows.model, m.cols.model]).toEqual([0, 1]);
      expect(m.rows.layers).toEqual(result!.models[0]!.layers);
      expect(m.cols.layers).toEqual(result!.models[1]!.layers);
      expect(m.n).toBe(200);
    }
    // Grams are float32 products (~1e-7 relative per entry); CKA agrees to ~1e-6.
    for (const [i, measure] of ['linear', 'rbf:0.4', 'debiased'].entries()) {
      const m = [result!.matrices[i]!];
      expect(maxDifference(m, await numpyValues(result!, m, measure)), measure).toBeLessThan(2e-6);
    }
    expect(result!.provenance.work).toEqual({
      activationsExtracted: 9,
      activationsReused: 0,
      gramsComputed: 9,
      gramsReused: 0,
      pairsComputed: 1,
      pairsReused: 0,
    });
  }, 180_000);

  it('self: one model against itself — symmetric, ones on the diagonal', async () => {
    const { result } = await runSpec(api, kindSpecs.self);
    expect(result!.matrices).toHaveLength(1);
    const m = result!.matrices[0]!;
    expect([m.rows.model, m.cols.model]).toEqual([0, 0]);
    const size = m.matrix.length;
    expect(size).toBe(result!.models[0]!.layers.length);
    for (let r = 0; r < size; r++) {
      expect(m.matrix[r]![r]).toBeCloseTo(1, 6);
      for (let c = 0; c < size; c++) expect(m.matrix[r]![c]).toBeCloseTo(m.matrix[c]![r]!, 12);
    }
    expect(maxDifference([m], await numpyValues(result!, [m], 'linear'))).toBeLessThan(2e-6);
  }, 180_000);

  it('seeds: every ordered pair, mean/std over pairs and the sanity-check accuracy', async () => {
    const { result } = await runSpec(api, kindSpecs.seeds);
    const k = 3;
    expect(result!.matrices).toHaveLength(k * (k - 1) * 2);
    const linear = result!.matrices.filter((m) => m.measure.name === 'linear');
    const pairs = linear.map((m) => `${m.rows.model},${m.cols.model}`).sort();
    expect(pairs).toEqual(['0,1', '0,2', '1,0', '1,2', '2,0', '2,1']);
    // (j, i) is the transpose of (i, j), exactly.
    for (const m of linear) {
      const other = linear.find((o) => o.rows.model === m.cols.model && o.cols.model === m.rows.model)!;
      expect(other.matrix).toEqual(m.matrix[0]!.map((_, c) => m.matrix.map((row) => row[c])));
    }
    expect(maxDifference(linear, await numpyValues(result!, linear, 'linear'))).toBeLessThan(2e-6);

    // The summary, recomputed here: logits (the graph output 'logits', last of preset:blocks) left out.
    const layers = result!.models[0]!.layers;
    expect(layers.at(-1)!.tensor).toBe('logits');
    const summary = result!.seeds!.find((s) => s.measure.name === 'linear')!;
    const size = layers.length;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        const values = linear.map((m) => m.matrix[r]![c]!);
        const mean = values.reduce((a, b) => a + b, 0) / values.length;
        const std = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
        expect(summary.mean[r]![c]).toBeCloseTo(mean, 12);
        expect(summary.std[r]![c]).toBeCloseTo(std, 12);
      }
    }
    const kept = size - 1;
    for (const p of summary.accuracyPerPair) {
      const m = linear.find((x) => x.rows.model === p.rowModel && x.cols.model === p.colModel)!;
      let hits = 0;
      for (let r = 0; r < kept; r++) {
        const row = m.matrix[r]!.slice(0, kept) as number[];
        if (row.indexOf(Math.max(...row)) === r) hits++;
      }
      expect(p.accuracy).toBe(hits / kept);
    }
    expect(summary.accuracyPerPair).toHaveLength(6);
    expect(summary.accuracy).toBeCloseTo(summary.accuracyPerPair.reduce((a, p) => a + p.accuracy, 0) / 6, 12);
    // Trainings of one architecture: CKA finds the corresponding layer almost always.
    expect(summary.accuracy).toBeGreaterThanOrEqual(0.75);
  }, 180_000);

  it('family: every self matrix and every cross matrix once', async () => {
    const { result } = await runSpec(api, kindSpecs.family);
    expect(result!.matrices.map((m) => `${m.rows.model},${m.cols.model}`)).toEqual(['0,0', '0,1', '1,1']);
    expect(result!.matrices.map((m) => [m.rows.label, m.cols.label])).toEqual([
      ['depth 1', 'depth 1'],
      ['depth 1', 'depth 2'],
      ['depth 2', 'depth 2'],
    ]);
    expect(result!.matrices.map((m) => [m.matrix.length, m.matrix[0]!.length])).toEqual([
      [3, 3],
      [3, 6],
      [6, 6],
    ]);
    expect(maxDifference(result!.matrices, await numpyValues(result!, result!.matrices, 'linear'))).toBeLessThan(2e-6);
  }, 180_000);

  it('bootstrap intervals and minibatch CKA come through with their parameters', async () => {
    const { result } = await runSpec(api, {
      ...kindSpecs.self,
      name: 'self with bootstrap and minibatch',
      layers: 'op:Relu',
      measures: ['linear', 'minibatch:50'],
      options: { bootstrap: { samples: 30, seed: 7, level: 0.9 } },
    });
    const [linear, minibatch] = result!.matrices;
    expect(linear!.ci).toMatchObject({ level: 0.9, samples: 30, seed: 7 });
    expect(minibatch!.measure).toEqual({
      name: 'minibatch',
      params: { batchSize: 50, batches: 4, droppedExamples: 0 },
    });
    expect(minibatch!.n).toBe(200);
    // Both against numpy on the same layers' activations.
    const files = (await activationFiles(result!))[0]!;
    const layerFiles = (layers: { tensor: string }[]) => layers.map((l) => files.get(l.tensor)!);
    const reference = JSON.parse(
      execFileSync('/usr/bin/python3', ['-c', NUMPY_MINIBATCH_AND_BOOTSTRAP, repoRoot], {
        input: JSON.stringify({
          rows: layerFiles(linear!.rows.layers),
          cols: layerFiles(linear!.cols.layers),
          batchSize: 50,
          bootstrap: { samples: 30, seed: 7, level: 0.9 },
        }),
        maxBuffer: 16 * 2 ** 20,
      }).toString(),
    ) as {
      minibatch: { matrix: number[][]; batches: number; dropped: number };
      bootstrap: Record<'lo' | 'hi', number[][]>;
    };
    expect(minibatch!.rows.layers).toEqual(linear!.rows.layers);
    expect(minibatch!.cols.layers).toEqual(linear!.cols.layers);
    expect([reference.minibatch.batches, reference.minibatch.dropped]).toEqual([4, 0]);
    const close = (got: (number | null)[][], want: number[][], tolerance: number) => {
      expect(got.map((row) => row.length)).toEqual(want.map((row) => row.length));
      const differences = got.flatMap((row, r) => row.map((v, c) => Math.abs(v! - want[r]![c]!)));
      expect(
        differences.every((d) => d <= tolerance),
        `max difference ${Math.max(...differences)}`,
      ).toBe(true);
    };
    close(minibatch!.matrix, reference.minibatch.matrix, 1e-6);
    const ci = linear!.ci!;
    expect(ci.lo).toHaveLength(6);
    // The API gives the recentred percentile interval (app/engine/cka/bootstrap.ts).
    close(ci.lo, reference.bootstrap.lo, 1e-6);
    close(ci.hi, reference.bootstrap.hi, 1e-6);
  }, 180_000);

  it("offers the zoo, the built-in probe and the paper's presets, which run as shipped", async () => {
    const models = await api.listModels({});
    expect(models.filter((m) => m.origin === 'zoo').map((m) => m.fileName)).toEqual(
      expect.arrayContaining(['plain-d4-s0.onnx', 'plain-d8-s0.onnx', 'plain-d1-s3.onnx', 'vit-s0.onnx']),
    );
    const opened = models.find((m) => m.path.endsWith('plain-d2-s0.onnx'))!;
    expect(opened).toMatchObject({ origin: 'opened', available: true });
    expect(opened.sha256).toMatch(/^[0-9a-f]{64}$/);

    const probes = await api.listProbes({});
    expect(probes[0]).toMatchObject({ spec: 'fashion-mnist:1000', kind: 'fashion-mnist', builtIn: true, maxN: 5000 });
    const fm = await api.openProbe({ spec: 'fashion-mnist:100' });
    expect(fm).toMatchObject({ spec: 'fashion-mnist:100', n: 100, exampleShape: [1, 28, 28] });
    expect(fm.hash).toMatch(/^[0-9a-f]{64}$/);
    await expect(api.openProbe({ spec: 'random:10' })).rejects.toThrow(/takes its example shape from a model/);
    const random = await api.openProbe({ spec: 'random:10:3', model: opened.path });
    expect(random).toMatchObject({ n: 10, exampleShape: [1, 28, 28] });

    const presets = await api.listPresets({});
    expect(presets.map((p) => [p.id, p.available, p.spec.kind, p.spec.models.length])).toEqual([
      ['seeds-sanity', true, 'seeds', 5],
      ['seeds-baselines', true, 'seeds', 5],
      ['depth-family', true, 'family', 4],
      ['vit-vs-cnn', true, 'pair', 2],
    ]);
    expect(presets[1]!.spec.measures).toEqual([
      'linear',
      'cca',
      'cca-r2',
      'svcca:0.99',
      'svcca-r2:0.99',
      'pwcca',
      'linreg',
      'procrustes',
    ]);
    expect(presets[2]!.spec.models.map((m) => m.label)).toEqual([
      'plain-d1-s0',
      'plain-d2-s0',
      'plain-d4-s0',
      'plain-d8-s0',
    ]);
    const experiment = await api.createExperiment({ spec: presets[0]!.spec });
    const { run, result } = await runExperimentToEnd(api, experiment.id);
    expect(run.status).toBe('done');
    expect(result!.models[0]!.layers.map((l) => l.name)).toEqual([
      'stage1.block0.relu',
      'pool1',
      'stage2.block0.relu',
      'pool2',
      'stage3.block0.relu',
      'gap',
    ]);
    // Trainings from different seeds: every layer's best match is the same layer in every other
    // seed, under each of the paper's measures.
    expect(result!.seeds!.map((s) => [s.measure.name, s.measure.params, s.accuracy])).toEqual([
      ['linear', {}, 1],
      ['rbf', { threshold: 0.4 }, 1],
      ['rbf', { threshold: 0.8 }, 1],
      ['debiased', {}, 1],
    ]);
  }, 180_000);

  it('keeps runs in the history: list, get, rename, export, delete', async () => {
    const runs = await api.listRuns({});
    expect(runs.length).toBeGreaterThanOrEqual(6);
    expect(runs.every((r) => r.status === 'done')).toBe(true);
    const pairRun = runs.find((r) => r.kind === 'pair')!;
    const renamed = await api.renameRun({ runId: pairRun.id, name: 'renamed pair' });
    expect(renamed.name).toBe('renamed pair');
    const { result } = await api.getRun({ runId: pairRun.id });

    const json = await api.exportRun({ runId: pairRun.id, format: 'json' });
    expect(JSON.parse(json.data)).toEqual(result);
    const csv = await api.exportRun({ runId: pairRun.id, format: 'csv', matrix: 1 });
    const lines = csv.data.trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]).toBe(
      [
        'rows: model A: plain-d1-s0.onnx \\ columns: model B: plain-d2-s0.onnx',
        ...result!.models[1]!.layers.map((l) => l.name),
      ].join(','),
    );
    expect(lines[1]!.split(',').slice(1).map(Number)).toEqual(result!.matrices[1]!.matrix[0]);
    const npy = await api.exportRun({ runId: pairRun.id, format: 'npy', matrix: 2, save: true });
    const bytes = Buffer.from(npy.data, 'base64');
    expect(readFileSync(npy.savedTo!)).toEqual(bytes);
    expect(npy.savedTo!.startsWith(join(dataDir, 'exports'))).toBe(true);
    const header = bytes.subarray(10, 10 + bytes.readUInt16LE(8)).toString('latin1');
    expect(header).toContain("'descr': '<f8'");
    expect(header).toContain("'shape': (3, 6)");
    const dataStart = 10 + bytes.readUInt16LE(8);
    const values = new Float64Array(Uint8Array.from(bytes.subarray(dataStart)).buffer);
    expect(Array.from(values)).toEqual(result!.matrices[2]!.matrix.flat());
    const svg = await api.exportRun({ runId: pairRun.id, format: 'svg' });
    expect(svg.data).toMatch(/^<svg /);
    expect(svg.data).toContain('rows: model A: plain-d1-s0.onnx');
    for (const l of result!.models[1]!.layers) expect(svg.data).toContain(`>${l.name}</text>`);

    const seedsRun = runs.find((r) => r.kind === 'seeds' && r.name === kindSpecs.seeds.name)!;
    const seedsCsv = await api.exportRun({
      runId: seedsRun.id,
      format: 'csv',
      seeds: { measure: 0, statistic: 'std' },
    });
    expect(seedsCsv.fileName).toMatch(/seeds-std-linear\.csv$/);

    await api.deleteRun({ runId: pairRun.id });
    await expect(api.getRun({ runId: pairRun.id })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    const experiments = await api.listExperiments({});
    const seedsExperiment = experiments.find((e) => e.name === kindSpecs.seeds.name)!;
    expect(seedsExperiment.runs).toBe(1);
    expect(seedsExperiment.lastRun?.status).toBe('done');
    expect(await api.deleteExperiment({ experimentId: seedsExperiment.id })).toEqual({ deletedRuns: 1 });
  }, 60_000);
});
