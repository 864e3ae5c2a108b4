/**
 * Per-model views of the same examples: a CNN taking NCHW 28×28 and one taking NHWC 32×32 of the
 * same 64 images (test/fixtures/views, made by make_view_fixtures.py), each on its own probe.
 * Linear CKA of their ReLUs equals the float64 CKA of the two models' torch activations — flattened,
 * and averaged over spatial positions (`mean`), where the graph decides which axis holds the
 * channels (B has an NHWC and an NCHW ReLU of the same shape kind). Also as an experiment whose
 * models each have their own probe (both probe hashes recorded), and the refusals.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComparisonResult } from '../../app/common/contract.js';
import { createWorkbench, type Workbench } from '../../app/api/workbench.js';
import { removeTempDataDirs, runExperimentToEnd, tempDataDir } from '../helpers/experiments.js';
import sharp from 'sharp';
import { readNpy } from '../../app/engine/io/npy.js';
import { fixturesDir, repoRoot } from '../helpers/paths.js';

const views = join(fixturesDir, 'views');
const read = (file: string) =>
  JSON.parse(readFileSync(join(views, file), 'utf8')) as {
    rows: { layers: { tensor: string }[] };
    cols: { layers: { tensor: string }[] };
    matrix: number[][];
    wrongIfAxis1Everywhere?: { matrix: number[][] };
  };
const flat = read('expected_cka.json');
const mean = read('expected_cka_mean.json');
const [a, b] = [join(views, 'a.onnx'), join(views, 'b.onnx')];
const probes = { probe: `npy:${join(views, 'probe_a.npy')}`, probeB: `npy:${join(views, 'probe_b.npy')}` };

let api: Workbench;
beforeAll(() => {
  api = createWorkbench({ dataDir: tempDataDir('ckawb-views-'), trustCaller: true, threads: 1 });
});
afterAll(async () => {
  await api?.close();
  removeTempDataDirs();
});

function maxDifference(result: ComparisonResult, expected: number[][]): number {
  const m = result.matrices[0]!;
  expect(m.rows.layers.map((l) => l.tensor)).toEqual(flat.rows.layers.map((l) => l.tensor));
  expect(m.cols.layers.map((l) => l.tensor)).toEqual(flat.cols.layers.map((l) => l.tensor));
  return Math.max(...expected.flatMap((row, r) => row.map((v, c) => Math.abs((m.matrix[r]![c] as number) - v))));
}

describe('two input pipelines of the same images', () => {
  it('flattened: equals CKA of the torch activations; both probes are recorded', async () => {
    const result = await api.compareLayers({
      a,
      b,
      ...probes,
      layers: 'op:Relu',
      measures: ['linear'],
      precision: 'float64',
    });
    expect(maxDifference(result, flat.matrix)).toBeLessThan(1e-5);
    expect(result.sides.map((s) => s.probe!.spec)).toEqual([probes.probe, probes.probeB]);
    expect(result.sides[0]!.probe!.hash).not.toBe(result.sides[1]!.probe!.hash);
  });

  it('mean: global average pooling on each tensor’s own channel axis (NHWC and NCHW alike)', async () => {
    const result = await api.compareLayers({
      a,
      b,
      ...probes,
      layers: 'op:Relu',
      measures: ['linear'],
      reduce: 'mean',
      precision: 'float64',
    });
    expect(result.matrices[0]!.cols.layers.map((l) => l.reduction)).toEqual(['mean', 'mean', 'mean']);
    expect(maxDifference(result, mean.matrix)).toBeLessThan(1e-5);
    // The matrix one gets by taking axis 1 for the channels everywhere is far from it.
    expect(maxDifference(result, mean.wrongIfAxis1Everywhere!.matrix)).toBeGreaterThan(0.05);
  });

  it('one folder of images feeds each model at its own size, channels and layout', async () => {
    const dir = tempDataDir('ckawb-images-');
    const pixels = (await readNpy(join(repoRoot, 'models', 'probe', 'fashion-mnist-test-5000-images.npy')))
      .data as Uint8Array;
    for (let i = 0; i < 12; i++) {
      await sharp(Buffer.from(pixels.subarray(i * 784, (i + 1) * 784)), { raw: { width: 28, height: 28, channels: 1 } })
        .png()
        .toFile(join(dir, `img${String(i).padStart(2, '0')}.png`));
    }
    const result = await api.compareLayers({ a, b, probe: `images:${dir}`, layers: 'op:Relu', measures: ['linear'] });
    const [specA, specB] = result.sides.map((s) => s.probe!.spec);
    expect(specA).toMatch(/size=28x28&mode=gray.*layout=nchw$/);
    expect(specB).toMatch(/size=32x32&mode=gray.*layout=nhwc$/);
    expect(result.matrices[0]!.n).toBe(12);
  });

  it('different probe sets are refused unless declared views; views must hold as many examples', async () => {
    await expect(
      api.compareLayers({ a, b, probe: probes.probe, layers: 'op:Relu', measures: ['linear'] }),
    ).rejects.toMatchObject({ code: 'BAD_PROBE', message: expect.stringMatching(/takes \[32, 32, 1\] per example/) });
    await expect(
      api.compareLayers({ a, b, probe: probes.probe, probeB: 'random:10', layers: 'op:Relu', measures: ['linear'] }),
    ).rejects.toMatchObject({
      code: 'BAD_PROBE',
      message: expect.stringMatching(/the two views must hold the same examples: .* has 64 and 'random:10:0' has 10/),
    });
  });

  it('an experiment whose models have their own probes records both', async () => {
    const experiment = await api.createExperiment({
      spec: {
        name: 'views',
        kind: 'pair',
        models: [{ path: a }, { path: b, probe: probes.probeB }],
        probe: probes.probe,
        layers: 'op:Relu',
        measures: ['linear'],
        reduce: 'mean',
      },
    });
    const details = await runExperimentToEnd(api, experiment.id);
    expect(details.run.status).toBe('done');
    const result = details.result!;
    expect(result.models.map((m) => m.probe!.spec)).toEqual([probes.probe, probes.probeB]);
    const matrix = result.matrices[0]!.matrix as number[][];
    expect(Math.max(...mean.matrix.flatMap((row, r) => row.map((v, c) => Math.abs(matrix[r]![c]! - v))))).toBeLessThan(
      1e-4,
    );
  }, 120_000);
});
